"""The public representations of users and posts (seed-compatible shapes)."""

from __future__ import annotations

import hashlib
from datetime import datetime


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def avatar(email: str, size: int) -> str:
    digest = hashlib.md5(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=identicon&s={size}"


def user_view(row, viewer_id: int | None, following: set[int] | frozenset = frozenset()) -> dict:
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


def post_view(row) -> dict:
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
