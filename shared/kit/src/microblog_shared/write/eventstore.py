"""The event store on PostgreSQL; its table is also the outbox the relay reads.

Appends in one service are serialised by a transaction-scoped advisory lock taken before the
position is drawn, so positions commit in order: a reader at "position > last seen" never
skips a row that committed late (BRIEF §7). Readers are never blocked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.events import Envelope, Event
from microblog_shared.write.handling import wrap
from microblog_shared.write.port import ConcurrencyError, Reservation, ReservationTaken, StateUpdate

__all__ = [
    "APPENDED_CHANNEL",
    "APPEND_LOCK",
    "SCHEMA",
    "BatchAppend",
    "ConcurrencyError",
    "EventStore",
    "Reservation",
    "ReservationTaken",
    "StateUpdate",
]

APPEND_LOCK = 7_000_001  # advisory-lock key of the append critical section
APPENDED_CHANNEL = "events_appended"

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS events (
        position bigserial PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        stream_id text NOT NULL,
        stream_version int NOT NULL,
        type text NOT NULL,
        schema_version int NOT NULL,
        occurred_at timestamptz NOT NULL,
        producer text NOT NULL,
        correlation_id text,
        causation_id text,
        payload jsonb NOT NULL,
        UNIQUE (stream_id, stream_version))""",
    """CREATE TABLE IF NOT EXISTS reservations (
        kind text NOT NULL, value text NOT NULL, stream_id text NOT NULL,
        PRIMARY KEY (kind, value))""",
    """CREATE TABLE IF NOT EXISTS relay_positions (
        relay text PRIMARY KEY, position bigint NOT NULL)""",
]

_INSERT_ONE = text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                          occurred_at, producer, correlation_id, causation_id, payload)
                      VALUES (:event_id, :stream_id, :stream_version, :type, :schema_version,
                          :occurred_at, :producer, :correlation_id, :causation_id, CAST(:payload AS jsonb))
                      RETURNING position""")
_INSERT_MANY = text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                           occurred_at, producer, correlation_id, causation_id, payload)
                       SELECT e, s, v, t, sv, o, :producer, c, ca, p FROM unnest(
                           CAST(:e AS uuid[]), CAST(:s AS text[]), CAST(:v AS int[]), CAST(:t AS text[]),
                           CAST(:sv AS int[]), CAST(:o AS timestamptz[]), CAST(:c AS text[]), CAST(:ca AS text[]),
                           CAST(:p AS jsonb[])) WITH ORDINALITY AS x(e, s, v, t, sv, o, c, ca, p, n)
                       ORDER BY n RETURNING event_id, position""")
# The array parameter of _INSERT_MANY that carries each envelope field.
_COLUMN_PARAMETERS = (
    ("e", "event_id"),
    ("s", "stream_id"),
    ("v", "stream_version"),
    ("t", "type"),
    ("sv", "schema_version"),
    ("o", "occurred_at"),
    ("c", "correlation_id"),
    ("ca", "causation_id"),
)

# One stream of a batch: (stream_id, expected_version, events, reservations to claim).
BatchAppend = tuple[str, int, Sequence[Event], Sequence[Reservation]]


class EventStore:
    """The PostgreSQL implementation of the `port.EventStore` handlers use."""

    def __init__(self, engine: AsyncEngine, producer: str) -> None:
        self.engine = engine
        self.producer = producer

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        reserve: Sequence[Reservation] = (),
        release: Sequence[Reservation] = (),
        update_state: StateUpdate | None = None,
    ) -> list[Envelope]:
        """Append `events` to a stream that must be at `expected_version` (0: a new stream).

        Reservations are claimed (and released) and `update_state` runs in the same transaction,
        so a service's own state tables never disagree with its events.
        """
        async with self.engine.begin() as conn:
            await _lock_appends(conn)
            actual = await self.stream_version(conn, stream_id)
            if actual != expected_version:
                raise ConcurrencyError(stream_id, expected_version, actual)
            for reservation in release:
                await conn.execute(
                    text("DELETE FROM reservations WHERE kind = :k AND value = :v AND stream_id = :s"),
                    {"k": reservation.kind, "v": reservation.value, "s": stream_id},
                )
            for reservation in reserve:
                await _reserve(conn, stream_id, reservation)
            appended = [
                await self._insert(conn, wrap(event, stream_id, number, self.producer))
                for number, event in enumerate(events, start=expected_version + 1)
            ]
            await _finish(conn, update_state)
        return appended

    async def append_batch(
        self,
        appends: Sequence[BatchAppend],
        update_state: StateUpdate | None = None,
    ) -> list[Envelope]:
        """Append to many streams in ONE transaction: for imports and seeding, not for commands.

        Each item is `(stream_id, expected_version, events, reservations to claim)`, a stream at
        most once. It runs under the same advisory lock as `append`, so positions still commit
        in order, and costs a fixed handful of statements whatever the batch size: one version
        check, one insert of the reservations, one of the events (in the order given, so each
        stream's events keep their order), then `update_state` once for the whole batch (the
        caller's bulk write of its state tables) and one NOTIFY. A stream not at its expected
        version, or a value already reserved (also twice within the batch), raises as `append`
        does and nothing of the batch is written. Releasing reservations is left to `append`.
        """
        expected = {stream_id: version for stream_id, version, _, _ in appends}
        if len(expected) != len(appends):
            raise ValueError("a stream may appear only once in a batch")
        envelopes = [
            wrap(event, stream_id, number, self.producer)
            for stream_id, version, events, _ in appends
            for number, event in enumerate(events, start=version + 1)
        ]
        claims = [(r.kind, r.value, stream_id) for stream_id, _, _, reserve in appends for r in reserve]
        async with self.engine.begin() as conn:
            await _lock_appends(conn)
            await _check_versions(conn, expected)
            await _reserve_all(conn, claims)
            appended = await self._insert_all(conn, envelopes)
            await _finish(conn, update_state)
        return appended

    async def _insert(self, conn: AsyncConnection, envelope: Envelope) -> Envelope:
        position = await conn.scalar(
            _INSERT_ONE,
            {**envelope.model_dump(exclude={"payload", "position"}), "payload": json.dumps(envelope.payload)},
        )
        return envelope.model_copy(update={"position": position})

    async def _insert_all(self, conn: AsyncConnection, envelopes: list[Envelope]) -> list[Envelope]:
        """Insert the envelopes with one statement, in their order; each with its position."""
        columns = [envelope.model_dump(mode="json", exclude={"position"}) for envelope in envelopes]
        parameters: dict[str, Any] = {key: [c[field] for c in columns] for key, field in _COLUMN_PARAMETERS}
        inserted = await conn.execute(
            _INSERT_MANY, {"producer": self.producer, **parameters, "p": [json.dumps(c["payload"]) for c in columns]}
        )
        drawn = {str(row.event_id): int(row.position) for row in inserted}
        positions = [drawn[str(envelope.event_id)] for envelope in envelopes]
        if any(a >= b for a, b in pairwise(positions)):
            raise RuntimeError("positions were drawn out of the batch's order")  # never seen; refuse to relay so
        return [e.model_copy(update={"position": p}) for e, p in zip(envelopes, positions)]

    @staticmethod
    async def stream_version(conn: AsyncConnection, stream_id: str) -> int:
        version = await conn.scalar(
            text("SELECT max(stream_version) FROM events WHERE stream_id = :s"), {"s": stream_id}
        )
        return int(version or 0)

    async def version_of(self, stream_id: str) -> int:
        """How many events the stream has: the expected version of its next append."""
        async with self.engine.connect() as conn:
            return await self.stream_version(conn, stream_id)

    async def read_stream(self, stream_id: str) -> list[Envelope]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM events WHERE stream_id = :s ORDER BY stream_version"), {"s": stream_id}
            )
            return [row_to_envelope(r) for r in rows]

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[Envelope]:
        """Events in global order, after position `after`."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM events WHERE position > :a ORDER BY position LIMIT :n"), {"a": after, "n": limit}
            )
            return [row_to_envelope(r) for r in rows]

    async def owner_of(self, kind: str, value: str) -> str | None:
        """The stream holding a reservation, if any."""
        async with self.engine.connect() as conn:
            owner: str | None = await conn.scalar(
                text("SELECT stream_id FROM reservations WHERE kind = :k AND value = :v"), {"k": kind, "v": value}
            )
            return owner

    async def next_id(self, sequence: str) -> int:
        """The next integer id from a sequence the service's migration created."""
        async with self.engine.connect() as conn:
            return int(await conn.scalar(text("SELECT nextval(CAST(:s AS regclass))"), {"s": sequence}))


async def _lock_appends(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK})


async def _finish(conn: AsyncConnection, update_state: StateUpdate | None) -> None:
    """The caller's state write, then the NOTIFY that wakes the relay once the transaction commits."""
    if update_state is not None:
        await update_state(conn)
    await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": APPENDED_CHANNEL})


async def _reserve(conn: AsyncConnection, stream_id: str, reservation: Reservation) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(
                text("INSERT INTO reservations (kind, value, stream_id) VALUES (:k, :v, :s)"),
                {"k": reservation.kind, "v": reservation.value, "s": stream_id},
            )
    except IntegrityError:
        raise ReservationTaken(reservation.kind, reservation.value) from None


async def _check_versions(conn: AsyncConnection, expected: dict[str, int]) -> None:
    """ConcurrencyError unless every stream is at its expected version (one query for all)."""
    versions = await conn.execute(
        text("""SELECT stream_id, max(stream_version) AS version FROM events
                WHERE stream_id = ANY(:s) GROUP BY stream_id"""),
        {"s": list(expected)},
    )
    actual = {row.stream_id: row.version for row in versions}
    for stream_id, version in expected.items():
        if actual.get(stream_id, 0) != version:
            raise ConcurrencyError(stream_id, version, actual.get(stream_id, 0))


async def _reserve_all(conn: AsyncConnection, claims: list[tuple[str, str, str]]) -> None:
    """Claim every (kind, value, stream_id) with one insert; ReservationTaken if one is (or is twice) taken."""
    if not claims:
        return
    kinds, values, owners = (list(column) for column in zip(*claims))
    inserted = await conn.execute(
        text("""INSERT INTO reservations (kind, value, stream_id)
                SELECT * FROM unnest(CAST(:k AS text[]), CAST(:v AS text[]), CAST(:s AS text[]))
                ON CONFLICT DO NOTHING RETURNING kind, value"""),
        {"k": kinds, "v": values, "s": owners},
    )
    claimed, seen = {(row.kind, row.value) for row in inserted}, set()
    for kind, value, _ in claims:
        if (kind, value) not in claimed or (kind, value) in seen:
            raise ReservationTaken(kind, value)
        seen.add((kind, value))


def row_to_envelope(row: Row[Any]) -> Envelope:
    """The envelope of a row of the events table (for a service's own queries of it)."""
    fields = row._mapping
    return Envelope(**{k: fields[k] for k in Envelope.model_fields})
