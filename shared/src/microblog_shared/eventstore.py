"""The event store on PostgreSQL; its table is also the outbox the relay reads.

Appends in one service are serialised by a transaction-scoped advisory lock taken before the
position is drawn, so positions commit in order: a reader at "position > last seen" never
skips a row that committed late (BRIEF §7). Readers are never blocked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared import context
from microblog_shared.events import Envelope, Event

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


class ConcurrencyError(Exception):
    """The stream moved on since it was read: the caller's decision is stale (HTTP 409)."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id} is at version {actual}, expected {expected}")
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


class ReservationTaken(Exception):
    """A unique value (a username, an email, a follow edge) already belongs to another stream."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{kind} {value!r} is already taken")
        self.kind, self.value = kind, value


StateUpdate = Callable[[AsyncConnection], Awaitable[None]]


@dataclass(frozen=True)
class Reservation:
    """Claim `value` of `kind` for the appended stream, in the append's transaction."""

    kind: str
    value: str


class EventStore:
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
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK})
            actual = await self.stream_version(conn, stream_id)
            if actual != expected_version:
                raise ConcurrencyError(stream_id, expected_version, actual)
            for reservation in release:
                await conn.execute(
                    text("DELETE FROM reservations WHERE kind = :k AND value = :v AND stream_id = :s"),
                    {"k": reservation.kind, "v": reservation.value, "s": stream_id},
                )
            for reservation in reserve:
                await self._reserve(conn, stream_id, reservation)
            appended = []
            for number, event in enumerate(events, start=expected_version + 1):
                envelope = self._envelope(stream_id, number, event)
                position = await conn.scalar(
                    text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                                occurred_at, producer, correlation_id, causation_id, payload)
                            VALUES (:event_id, :stream_id, :stream_version, :type, :schema_version,
                                :occurred_at, :producer, :correlation_id, :causation_id, CAST(:payload AS jsonb))
                            RETURNING position"""),
                    {**envelope.model_dump(exclude={"payload", "position"}), "payload": json.dumps(envelope.payload)},
                )
                appended.append(envelope.model_copy(update={"position": position}))
            if update_state is not None:
                await update_state(conn)
            await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": APPENDED_CHANNEL})
        return appended

    async def _reserve(self, conn: AsyncConnection, stream_id: str, reservation: Reservation) -> None:
        try:
            async with conn.begin_nested():
                await conn.execute(
                    text("INSERT INTO reservations (kind, value, stream_id) VALUES (:k, :v, :s)"),
                    {"k": reservation.kind, "v": reservation.value, "s": stream_id},
                )
        except IntegrityError:
            raise ReservationTaken(reservation.kind, reservation.value) from None

    def _envelope(self, stream_id: str, version: int, event: Event) -> Envelope:
        return Envelope(
            type=event.type_name,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=version,
            producer=self.producer,
            correlation_id=context.correlation_id.get(),
            causation_id=context.causation_id.get(),
            payload=event.model_dump(mode="json"),
        )

    @staticmethod
    async def stream_version(conn: AsyncConnection, stream_id: str) -> int:
        version = await conn.scalar(
            text("SELECT max(stream_version) FROM events WHERE stream_id = :s"), {"s": stream_id}
        )
        return version or 0

    async def read_stream(self, stream_id: str) -> list[Envelope]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM events WHERE stream_id = :s ORDER BY stream_version"), {"s": stream_id}
            )
            return [_row_to_envelope(r) for r in rows]

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[Envelope]:
        """Events in global order, after position `after`."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM events WHERE position > :a ORDER BY position LIMIT :n"), {"a": after, "n": limit}
            )
            return [_row_to_envelope(r) for r in rows]

    async def owner_of(self, kind: str, value: str) -> str | None:
        """The stream holding a reservation, if any."""
        async with self.engine.connect() as conn:
            return await conn.scalar(
                text("SELECT stream_id FROM reservations WHERE kind = :k AND value = :v"), {"k": kind, "v": value}
            )

    async def next_id(self, sequence: str) -> int:
        """The next integer id from a sequence the service's migration created."""
        async with self.engine.connect() as conn:
            return await conn.scalar(text("SELECT nextval(CAST(:s AS regclass))"), {"s": sequence})


def _row_to_envelope(row) -> Envelope:
    fields = row._mapping
    return Envelope(**{k: fields[k] for k in Envelope.model_fields})
