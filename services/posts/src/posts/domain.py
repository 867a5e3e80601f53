"""The Post aggregate."""

from __future__ import annotations

from datetime import datetime

from microblog_shared.events import PostCreated

MAX_BODY = 140


class InvalidPost(ValueError):
    pass


def stream_id(post_id: int) -> str:
    return f"post-{post_id}"


def create_post(post_id: int, author_id: int, body: str, now: datetime) -> PostCreated:
    """An author writes a post of 1 to 140 characters (blank ones say nothing)."""
    body = body.strip()
    if not body:
        raise InvalidPost("body must not be empty")
    if len(body) > MAX_BODY:
        raise InvalidPost(f"body must have at most {MAX_BODY} characters")
    return PostCreated(post_id=post_id, author_id=author_id, body=body, language="", created_at=now)
