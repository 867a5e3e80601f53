"""The public representation of posts, shared by every read API that lists them (seed-compatible)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any


def iso(moment: datetime | None) -> str | None:
    """A UTC moment as the API writes it (`2026-11-24T12:00:00Z`)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def avatar(email: str, size: int) -> str:
    """The author's Gravatar (an identicon when they have none)."""
    digest = hashlib.md5(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=identicon&s={size}"


def post_view(row: Any) -> dict[str, Any]:
    """A post row (id, body, language, created_at, edited_at, author_id, username, email) as the API shows it."""
    return {
        "id": row.id,
        "body": row.body,
        "language": row.language,
        "timestamp": iso(row.created_at),
        "edited_at": iso(row.edited_at),
        "author": {
            "id": row.author_id,
            "username": row.username,
            "_links": {"self": f"/api/users/{row.author_id}", "avatar": avatar(row.email, 36)},
        },
        "_links": {"self": f"/api/posts/{row.id}", "author": f"/api/users/{row.author_id}"},
    }
