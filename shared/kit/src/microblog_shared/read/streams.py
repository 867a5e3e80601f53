"""Stream versions, the runner's dedupe: which polled events are new, and the records set aside.

Every event carries its stream's version; a projection stores the newest version it applied per
stream (`projection_streams`) in the transaction that applies it, so a redelivered or re-sent
event is recognised and skipped.
"""

from __future__ import annotations

import traceback

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.bus import ConsumedRecord
from microblog_shared.events import Envelope

# Set by `microblog dlq retry` on a dead letter it republishes (deadletters.py).
RETRY_HEADER = "dlq_retry"

Keyed = tuple[ConsumedRecord, Envelope, str]  # a record, its envelope and its stream's dedupe key
DeadRecord = tuple[ConsumedRecord, str]  # a record set aside, and why


def dedupe_key(topic: str, stream_id: str, by_topic: bool) -> str:
    """What `projection_streams` keys a stream's applied version by.

    The stream id; or, for a projection that reads one stream from several topics (identity's
    user stream is on identity.users and identity.password-resets), the topic and the stream:
    versions only rise within one topic, and a later event from one topic must not make an
    earlier one from the other look applied.
    """
    return f"{topic}/{stream_id}" if by_topic else stream_id


async def applied_version(conn: AsyncConnection, projection: str, stream_id: str) -> int:
    """How far a projection has applied a stream (0: not at all)."""
    version = await conn.scalar(
        text("SELECT version FROM projection_streams WHERE projection = :p AND stream_id = :s"),
        {"p": projection, "s": stream_id},
    )
    return version or 0


def decode(
    records: list[ConsumedRecord], isolate: bool
) -> tuple[list[tuple[ConsumedRecord, Envelope]], list[DeadRecord]]:
    """The records' envelopes; a record that is no envelope fails the batch, or (`isolate`) is set aside."""
    decoded: list[tuple[ConsumedRecord, Envelope]] = []
    dead: list[DeadRecord] = []
    for record in records:
        try:
            decoded.append((record, Envelope.from_bytes(record.value)))
        except Exception:
            if not isolate:
                raise
            dead.append((record, traceback.format_exc(limit=3)))
    return decoded, dead


def new_events(keyed: list[Keyed], applied: dict[str, int]) -> tuple[list[Keyed], list[DeadRecord]]:
    """The events past their stream's applied version, and the retried ones that a later version superseded."""
    newest = dict(applied)
    fresh: list[Keyed] = []
    superseded: list[DeadRecord] = []
    for record, envelope, key in keyed:
        if envelope.stream_version <= newest.get(key, 0):
            if RETRY_HEADER in record.headers and envelope.stream_version < newest[key]:
                superseded.append((record, _superseded(envelope, newest[key])))
            continue  # a duplicate (relay re-send or redelivery): already applied
        newest[key] = envelope.stream_version
        fresh.append((record, envelope, key))
    return fresh, superseded


def _superseded(envelope: Envelope, newest: int) -> str:
    return (
        f"superseded: retried {envelope.type} {envelope.stream_id}@{envelope.stream_version}, but this "
        f"projection has applied version {newest} of that stream; replay the projection to apply it in order"
    )
