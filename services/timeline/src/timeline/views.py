"""The public representations of users and posts (seed-compatible shapes, shared with the gateway)."""

from __future__ import annotations

from microblog_shared.http.views import avatar, iso, post_view, user_view

__all__ = ["avatar", "iso", "post_view", "user_view"]
