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

from microblog_shared.runtime import context
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

    async def append_batch(
        self,
        appends: Sequence[tuple[str, int, Sequence[Event], Sequence[Reservation]]],
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
        envelopes = [self._envelope(stream_id, number, event)
                     for stream_id, version, events, _ in appends
                     for number, event in enumerate(events, start=version + 1)]
        claims = [(r.kind, r.value, stream_id) for stream_id, _, _, reserve in appends for r in reserve]
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK})
            rows = await conn.execute(
                text("""SELECT stream_id, max(stream_version) AS version FROM events
                        WHERE stream_id = ANY(:s) GROUP BY stream_id"""),
                {"s": list(expected)},
            )
            actual = {row.stream_id: row.version for row in rows}
            for stream_id, version in expected.items():
                if actual.get(stream_id, 0) != version:
                    raise ConcurrencyError(stream_id, version, actual.get(stream_id, 0))
            if claims:
                kinds, values, owners = map(list, zip(*claims))
                rows = await conn.execute(
                    text("""INSERT INTO reservations (kind, value, stream_id)
                            SELECT * FROM unnest(CAST(:k AS text[]), CAST(:v AS text[]), CAST(:s AS text[]))
                            ON CONFLICT DO NOTHING RETURNING kind, value"""),
                    {"k": kinds, "v": values, "s": owners},
                )
                claimed, seen = {(row.kind, row.value) for row in rows}, set()
                for kind, value, _ in claims:
                    if (kind, value) not in claimed or (kind, value) in seen:
                        raise ReservationTaken(kind, value)
                    seen.add((kind, value))
            columns = [envelope.model_dump(mode="json", exclude={"position"}) for envelope in envelopes]
            rows = await conn.execute(
                text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                            occurred_at, producer, correlation_id, causation_id, payload)
                        SELECT e, s, v, t, sv, o, :producer, c, ca, p FROM unnest(
                            CAST(:e AS uuid[]), CAST(:s AS text[]), CAST(:v AS int[]), CAST(:t AS text[]),
                            CAST(:sv AS int[]), CAST(:o AS timestamptz[]), CAST(:c AS text[]), CAST(:ca AS text[]),
                            CAST(:p AS jsonb[])) WITH ORDINALITY AS x(e, s, v, t, sv, o, c, ca, p, n)
                        ORDER BY n RETURNING event_id, position"""),
                {"producer": self.producer, **{key: [c[field] for c in columns] for key, field in (
                    ("e", "event_id"), ("s", "stream_id"), ("v", "stream_version"), ("t", "type"),
                    ("sv", "schema_version"), ("o", "occurred_at"), ("c", "correlation_id"),
                    ("ca", "causation_id"))}, "p": [json.dumps(c["payload"]) for c in columns]},
            )
            positions = {str(row.event_id): row.position for row in rows}
            appended = [e.model_copy(update={"position": positions[str(e.event_id)]}) for e in envelopes]
            if any(a.position >= b.position for a, b in zip(appended, appended[1:])):
                raise RuntimeError("positions were drawn out of the batch's order")  # never seen; refuse to relay so
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
