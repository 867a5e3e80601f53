"""Posts' use cases: load the post from its stream, decide, append. No HTTP here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

from microblog_shared.events import Envelope, Event, registry
from microblog_shared.eventstore import ConcurrencyError, EventStore
from posts import domain

DetectLanguage = Callable[[str], str]
Decision = Callable[[domain.Post], Sequence[Event]]


@dataclass(frozen=True)
class Written:
    """The post after a command, and the stream's last event (what a consistency token names)."""

    post: domain.Post
    last_event: Envelope


async def write_post(store: EventStore, detect_language: DetectLanguage, author_id: int, body: str) -> Written:
    """A new post, its language detected."""
    language = await _language_of(detect_language, body)
    post_id = await store.next_id("post_ids")
    created = domain.create_post(post_id, author_id, body, language, _now())
    (appended,) = await store.append(domain.stream_id(post_id), 0, [created])
    return Written(domain.replay([created]), appended)


async def edit_post(
    store: EventStore, detect_language: DetectLanguage, post_id: int, editor_id: int, body: str
) -> Written:
    """The author's new body for their post, its language detected again."""
    language, now = await _language_of(detect_language, body), _now()
    return await _decide(store, post_id, lambda post: domain.edit_post(post, editor_id, body, language, now))


async def delete_post(store: EventStore, post_id: int, editor_id: int) -> Written:
    """The author deletes their post."""
    now = _now()
    return await _decide(store, post_id, lambda post: domain.delete_post(post, editor_id, now))


async def load_post(store: EventStore, post_id: int) -> tuple[domain.Post, list[Envelope]]:
    """The post folded from its stream (old event versions upcast), and the stream's envelopes."""
    envelopes = await store.read_stream(domain.stream_id(post_id))
    return domain.replay(registry.decode(envelope) for envelope in envelopes), envelopes


async def _decide(store: EventStore, post_id: int, decide: Decision) -> Written:
    try:
        return await _decide_once(store, post_id, decide)
    except ConcurrencyError:
        # Someone appended between our read and our append, so our decision was taken on stale
        # state: take it again on the new one; losing a second race goes to the caller (409).
        return await _decide_once(store, post_id, decide)


async def _decide_once(store: EventStore, post_id: int, decide: Decision) -> Written:
    post, envelopes = await load_post(store, post_id)
    events = decide(post)  # raises for a missing post, so `envelopes` has at least one below
    if not events:
        return Written(post, envelopes[-1])
    appended = await store.append(domain.stream_id(post_id), envelopes[-1].stream_version, events)
    return Written(domain.replay(events, post), appended[-1])


async def _language_of(detect_language: DetectLanguage, body: str) -> str:
    # The first detection loads the model (most of a second) and detection is CPU work: keep
    # both off the event loop.
    return await asyncio.to_thread(detect_language, body.strip())


def _now() -> datetime:
    return datetime.now(timezone.utc)
