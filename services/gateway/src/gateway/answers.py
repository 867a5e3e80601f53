"""Writes answered from the write side, in the shapes a read of them shows, without the timeline.

A write service's answer names what it owns; the rest of the public shape comes from the other write
services' state tables, which hold a write as soon as it is acknowledged (the timeline only once it
has projected it): a post's author (username, avatar) from identity's users, a user's counts from
posts' and social-graph's. The answer keeps the write's `Location` and `X-Consistency-Token`, and a
read that sends the token waits for the timeline to show the write.

When one of those other services can't answer, the write is still stored and is never reported as
failed (a client would retry it and write it twice): the answer is the write service's own view
(a post's author as its id only; a user as identity has them, `UserAsWritten`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import orjson
from fastapi import HTTPException
from fastapi.responses import Response

from gateway.backends import Backend, Backends, Upstream, relay
from microblog_shared.http.views import post_view, user_view


async def post_written(services: Backends, writing: Awaitable[Upstream], author_id: int) -> Response:
    """A created or edited post as GET /api/posts/{id} shows it: posts' answer to `writing` and its author,
    asked of identity while posts writes."""
    write, author = await asyncio.gather(writing, _profile(services.identity, author_id))
    if not _stored(write) or author is None:
        return relay(write)
    post = write.json()
    row = SimpleNamespace(
        id=post["id"],
        body=post["body"],
        language=post["language"],
        created_at=_moment(post["timestamp"]),
        edited_at=_moment(post.get("edited_at")),
        author_id=author_id,
        username=author["username"],
        email=author["email"],
    )
    return _answer(write, post_view(row))


async def user_written(services: Backends, write: Upstream, viewer_id: int | None) -> Response:
    """A registered or changed user as GET /api/users/{id} shows them to `viewer_id`, from identity's answer
    and the counts of posts and social-graph (a 202's `pending_email` kept)."""
    if not _stored(write):
        return relay(write)
    user = write.json()
    counts = await _counts(services, user["id"])
    if counts is None:
        return relay(write)
    row = SimpleNamespace(**{**user, "last_seen": _moment(user["last_seen"]), **counts})
    view = user_view(row, viewer_id)
    if "pending_email" in user:
        view["pending_email"] = user["pending_email"]
    return _answer(write, view)


async def _profile(identity: Backend, user_id: int) -> dict[str, Any] | None:
    """Identity's view of a user (username, email), or None when it can't be had."""
    try:
        answer = await identity.call("GET", f"/users/{user_id}")
    except HTTPException:
        return None
    return answer.json() if answer.status_code == 200 else None


async def _counts(services: Backends, user_id: int) -> dict[str, int] | None:
    """The user's post, follower and followed counts now, or None when either service can't answer."""
    posts, edges = await asyncio.gather(
        services.posts.call("GET", f"/users/{user_id}/post-count"),
        services.social_graph.call("GET", f"/users/{user_id}/counts"),
        return_exceptions=True,
    )
    if not isinstance(posts, Upstream) or not isinstance(edges, Upstream):
        if isinstance(posts, BaseException) and not isinstance(posts, HTTPException):
            raise posts
        if isinstance(edges, BaseException) and not isinstance(edges, HTTPException):
            raise edges
        return None
    if posts.status_code != 200 or edges.status_code != 200:
        return None
    return {**posts.json(), **edges.json()}


def _stored(write: Upstream) -> bool:
    """Whether the write service stored the write and answered its view of it."""
    return 200 <= write.status_code < 300 and bool(write.content)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _answer(write: Upstream, view: dict[str, Any]) -> Response:
    """The view with the write's status, `Location` and consistency token."""
    answer = relay(write)
    headers = {name: value for name, value in answer.headers.items() if name not in ("content-length", "content-type")}
    return Response(orjson.dumps(view), status_code=write.status_code, headers=headers, media_type="application/json")
