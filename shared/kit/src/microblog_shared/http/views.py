"""The public representations of posts and users (seed-compatible), shared by the read APIs and the
gateway's answers to writes, so that a write is answered in the shape a read of it shows."""

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


def user_view(row: Any, viewer_id: int | None, following: set[int] | frozenset[int] = frozenset()) -> dict[str, Any]:
    """A user row (id, username, email, about_me, last_seen, post/follower/followed counts) as `viewer_id` sees it.

    The user themselves see their email; another signed-in viewer sees whether they follow them.
    """
    view = {
        "id": row.id,
        "username": row.username,
        "last_seen": iso(row.last_seen),
        "about_me": row.about_me,
        "post_count": row.post_count,
        "follower_count": row.follower_count,
        "followed_count": row.followed_count,
        "_links": {
            "self": f"/api/users/{row.id}",
            "followers": f"/api/users/{row.id}/followers",
            "followed": f"/api/users/{row.id}/followed",
            "avatar": avatar(row.email, 128),
        },
    }
    if viewer_id == row.id:
        view["email"] = row.email
    elif viewer_id is not None:
        view["is_following"] = row.id in following
    return view
