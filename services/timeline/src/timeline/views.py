"""The public representations of users and posts (seed-compatible shapes)."""

from __future__ import annotations

from microblog_shared.http.views import avatar, iso, post_view

__all__ = ["avatar", "iso", "post_view", "user_view"]


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
