"""The Post aggregate: its state folded from its events, and the decisions made on it.

Decisions are pure: they take the current state (and the body's language, detected outside)
and return the events to append, or raise. Nothing here touches HTTP, SQL or the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce, singledispatch

from microblog_shared.events import Event, PostCreated, PostDeleted, PostEdited
from microblog_shared.write import idempotency

MAX_BODY = 140


class InvalidPost(ValueError):
    """The body breaks the rules (1 to 140 characters once trimmed)."""


class PostNotFound(LookupError):
    """No such post, or it was deleted."""


class NotYourPost(PermissionError):
    """Only a post's author may change it."""


@dataclass(frozen=True)
class Post:
    """What the decisions need to know about one post; `Post()` is one never written."""

    exists: bool = False
    deleted: bool = False
    post_id: int = 0
    author_id: int = 0
    body: str = ""
    language: str = ""
    created_at: datetime | None = None
    edited_at: datetime | None = None


def stream_id(post_id: int) -> str:
    return f"post-{post_id}"


# --- state ----------------------------------------------------------------------------


@singledispatch
def apply(event: Event, post: Post) -> Post:
    """The post after `event`."""
    # An event this code doesn't know would be silently lost from the state: refuse instead.
    raise TypeError(f"a post has no {type(event).__name__} events")


@apply.register
def _created(event: PostCreated, post: Post) -> Post:
    return replace(
        post,
        exists=True,
        post_id=event.post_id,
        author_id=event.author_id,
        body=event.body,
        language=event.language,
        created_at=event.created_at,
    )


@apply.register
def _edited(event: PostEdited, post: Post) -> Post:
    return replace(post, body=event.body, language=event.language, edited_at=event.edited_at)


@apply.register
def _deleted(event: PostDeleted, post: Post) -> Post:
    return replace(post, deleted=True)


def replay(events: Iterable[Event], post: Post = Post()) -> Post:
    """The post after all `events`, in order (from scratch unless given a `post`)."""
    return reduce(lambda state, event: apply(event, state), events, post)


# --- decisions ------------------------------------------------------------------------


def create_post(post_id: int, author_id: int, body: str, language: str, now: datetime) -> PostCreated:
    """An author writes a post of 1 to 140 characters (blank ones say nothing)."""
    return PostCreated(post_id=post_id, author_id=author_id, body=_valid_body(body), language=language, created_at=now)


def retry_post(first: Post, body: str, now: datetime) -> Post:
    """The post a retry with the same Idempotency-Key answers: the first one, if the body is the same."""
    idempotency.check_retry(_valid_body(body) == first.body, first.created_at, now)
    return first


def edit_post(post: Post, editor_id: int, body: str, language: str, now: datetime) -> list[PostEdited]:
    """The author rewrites their post; the same body again changes nothing (no event)."""
    _check_author(post, editor_id, "edit")
    body = _valid_body(body)
    if body == post.body:
        return []
    return [PostEdited(post_id=post.post_id, author_id=post.author_id, body=body, language=language, edited_at=now)]


def delete_post(post: Post, editor_id: int, now: datetime) -> list[PostDeleted]:
    """The author deletes their post; it is gone for everyone, for good."""
    _check_author(post, editor_id, "delete")
    return [PostDeleted(post_id=post.post_id, author_id=post.author_id, deleted_at=now)]


def _check_author(post: Post, editor_id: int, verb: str) -> None:
    if not post.exists or post.deleted:
        raise PostNotFound("post not found")
    if post.author_id != editor_id:
        raise NotYourPost(f"you can only {verb} your own posts")


def _valid_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise InvalidPost("body must not be empty")
    if len(body) > MAX_BODY:
        raise InvalidPost(f"body must have at most {MAX_BODY} characters")
    return body
