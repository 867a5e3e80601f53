"""Posts' use cases: load the post (or the export) from its stream, decide, append. No HTTP here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from microblog_shared.events import Envelope, Event, registry
from microblog_shared.write import idempotency
from microblog_shared.write.handling import execute, utcnow
from microblog_shared.write.port import EventStore, Reservation, ReservationTaken
from posts import domain, exports
from posts.adapters import exports as export_tables
from posts.adapters import posts as posts_table

DetectLanguage = Callable[[str], str]
Decision = Callable[[domain.Post], Sequence[Event]]


class PostsStore(EventStore, Protocol):
    """The event store port, plus what the posts and exports tables answer (adapters.store in production)."""

    async def running_export(self, user_id: int) -> bool: ...

    async def post_count(self, user_id: int) -> int: ...

    async def next_posts(
        self, user_id: int, after_post_id: int, written_by: datetime, limit: int
    ) -> list[export_tables.PostRow]: ...


@dataclass(frozen=True)
class Written:
    """The post after a command, and the stream's last event (what a consistency token names)."""

    post: domain.Post
    last_event: Envelope


async def write_post(
    store: EventStore, detect_language: DetectLanguage, author_id: int, body: str, key: str | None = None
) -> Written:
    """A new post, its language detected.

    With an Idempotency-Key, the author's key is reserved for the post's stream in the append's
    transaction: a retry (even one racing the first request) answers the post the key wrote first.
    """
    claim = Reservation("idempotency-key", f"{author_id} {key}") if key is not None else None
    if claim is not None and (earlier := await _written_with(store, claim, body)) is not None:
        return earlier
    language = await _language_of(detect_language, body)
    post_id = await store.next_id("post_ids")
    created = domain.create_post(post_id, author_id, body, language, utcnow())
    try:
        (appended,) = await store.append(
            domain.stream_id(post_id),
            0,
            [created],
            reserve=[claim] if claim is not None else (),
            update_state=posts_table.record([created]),
        )
    except ReservationTaken:  # a request with the same key appended first
        assert claim is not None
        earlier = await _written_with(store, claim, body)
        assert earlier is not None  # a reservation is never released
        return earlier
    return Written(domain.replay([created]), appended)


async def _written_with(store: EventStore, claim: Reservation, body: str) -> Written | None:
    """The post an Idempotency-Key wrote, as first written (KeyReused if `body` differs or the key expired)."""
    owner = await store.owner_of(claim.kind, claim.value)
    if owner is None:
        return None
    first = (await store.read_stream(owner))[0]
    return Written(domain.retry_post(domain.replay([registry.decode(first)]), body, utcnow()), first)


async def edit_post(
    store: EventStore, detect_language: DetectLanguage, post_id: int, editor_id: int, body: str
) -> Written:
    """The author's new body for their post, its language detected again."""
    language, now = await _language_of(detect_language, body), utcnow()
    return await _decide(store, post_id, lambda post: domain.edit_post(post, editor_id, body, language, now))


async def delete_post(store: EventStore, post_id: int, editor_id: int) -> Written:
    """The author deletes their post."""
    now = utcnow()
    return await _decide(store, post_id, lambda post: domain.delete_post(post, editor_id, now))


async def load_post(store: EventStore, post_id: int) -> tuple[domain.Post, list[Envelope]]:
    """The post folded from its stream (old event versions upcast), and the stream's envelopes."""
    envelopes = await store.read_stream(domain.stream_id(post_id))
    return domain.replay(registry.decode(envelope) for envelope in envelopes), envelopes


async def _decide(store: EventStore, post_id: int, decide: Decision) -> Written:
    """The command on the post's stream, per the kit's conflict policy (`decide` refuses a missing post)."""
    outcome = await execute(store, domain.stream_id(post_id), domain.replay, decide, posts_table.record)
    assert outcome.last_event is not None  # the post exists: its stream has events
    return Written(domain.replay(outcome.events, outcome.state), outcome.last_event)


async def request_export(store: PostsStore, user_id: int, key: str | None = None) -> tuple[exports.Export, Envelope]:
    """A new export of the person's posts (the exporter picks it up); ExportRunning while one runs.

    With an Idempotency-Key, a retry answers the export the key started (not ExportRunning): the
    key is reserved for the export's stream in the append's transaction.
    """
    claim = Reservation("export-key", f"{user_id} {key}") if key is not None else None
    if claim is not None and (earlier := await _export_with(store, claim)) is not None:
        return earlier
    running, total = await store.running_export(user_id), await store.post_count(user_id)
    requested = exports.request_export(str(uuid.uuid4()), user_id, running, total, utcnow())
    # The state table's unique index refuses a second running export a concurrent request slipped in.
    try:
        (appended,) = await store.append(
            exports.stream_id(requested.task_id),
            0,
            [requested],
            reserve=[claim] if claim is not None else (),
            update_state=export_tables.record([requested]),
        )
    except ReservationTaken:  # a request with the same key appended first
        assert claim is not None
        earlier = await _export_with(store, claim)
        assert earlier is not None  # a reservation is never released
        return earlier
    return exports.replay([requested]), appended


async def _export_with(store: EventStore, claim: Reservation) -> tuple[exports.Export, Envelope] | None:
    """The export an Idempotency-Key started, as it is now, and its first event (KeyReused after 24 hours)."""
    owner = await store.owner_of(claim.kind, claim.value)
    if owner is None:
        return None
    envelopes = await store.read_stream(owner)
    export = exports.replay(registry.decode(envelope) for envelope in envelopes)
    idempotency.check_retry(True, export.requested_at, utcnow())
    return export, envelopes[0]


async def load_export(store: EventStore, task_id: str) -> exports.Export:
    """The export folded from its stream (`Export()` for an unknown one)."""
    envelopes = await store.read_stream(exports.stream_id(task_id))
    return exports.replay(registry.decode(envelope) for envelope in envelopes)


async def advance_export(store: PostsStore, task_id: str, chunk_size: int) -> list[Envelope]:
    """Write out the export's next chunk of posts (and complete it after the last): one append.

    Where the chunk starts comes from the stream, and the rows go in with the event that moves
    it on, so a worker killed at any point resumes with no post missing or doubled; a second
    worker on the same export loses the append (ConcurrencyError) and writes nothing. Returns
    what was appended: nothing for an unknown or complete export.
    """
    export = await load_export(store, task_id)
    if not export.exists or export.complete:
        return []
    assert export.requested_at is not None  # ExportRequested, which makes it exist, sets it
    chunk = await store.next_posts(export.user_id, export.after_post_id, export.requested_at, chunk_size)
    events = exports.advance(export, [post.id for post in chunk], chunk_size, utcnow())
    return await store.append(
        exports.stream_id(task_id), export.version, events, update_state=export_tables.record(events, chunk)
    )


async def _language_of(detect_language: DetectLanguage, body: str) -> str:
    # The first detection loads the model (most of a second) and detection is CPU work: keep
    # both off the event loop.
    return await asyncio.to_thread(detect_language, body.strip())
