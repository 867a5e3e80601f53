"""A post as the index knows it, and how its events fold into that state.

The fold is order-independent and idempotent: every event carries its stream version, the
newest content wins, a delete is final (a tombstone keeps its version, so a create or edit
delivered late can never bring the post back), and the creation time is kept from PostCreated
whenever that arrives. Folding the same events in any order, any number of times, gives the
same state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import singledispatch

from microblog_shared.events import PostCreated, PostDeleted, PostEdited


@dataclass(frozen=True)
class Post:
    post_id: int
    version: int  # the newest stream version folded in
    author_id: int
    body: str = ""
    language: str = ""
    created_at: datetime | None = None  # None until PostCreated is seen (an edit came first)
    edited_at: datetime | None = None
    deleted: bool = False

    @property
    def searchable(self) -> bool:
        return not self.deleted and self.created_at is not None


@singledispatch
def fold(event, post: Post | None, version: int) -> Post | None:
    """The post after `event` (stream version `version`); events of other kinds leave it as it was."""
    return post


@fold.register
def _created(event: PostCreated, post: Post | None, version: int) -> Post:
    if post is None:
        return Post(event.post_id, version, event.author_id, event.body, event.language, event.created_at)
    if version > post.version and not post.deleted:  # never the case in one ordered stream, but harmless
        post = replace(post, version=version, body=event.body, language=event.language)
    return replace(post, author_id=event.author_id, created_at=event.created_at)


@fold.register
def _edited(event: PostEdited, post: Post | None, version: int) -> Post | None:
    if post is None:
        return Post(event.post_id, version, event.author_id, event.body, event.language, edited_at=event.edited_at)
    if version <= post.version or post.deleted:
        return post
    return replace(post, version=version, body=event.body, language=event.language, edited_at=event.edited_at)


@fold.register
def _deleted(event: PostDeleted, post: Post | None, version: int) -> Post:
    if post is None:
        return Post(event.post_id, version, event.author_id, deleted=True)
    return replace(post, version=max(version, post.version), body="", language="", edited_at=None, deleted=True)
