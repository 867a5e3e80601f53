"""The event store on PostgreSQL; its table is also the outbox the relay reads.

Appends run concurrently. Each row records the id of the transaction that wrote it (`xact`,
the column's default `pg_current_xact_id()`), and the log is read in (xact, position) order,
only below the oldest transaction still running (`read_settled`): a row that commits late
has a transaction id no reader has passed yet, so nothing is skipped (BRIEF §7; the proof is
ADR 9). Appends to one stream are serialised by a transaction-scoped advisory lock on the
stream, so its version check is exact; appends to different streams never wait for each other
(unless they claim the same reservation). Readers are never blocked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, NamedTuple

from sqlalchemy import Row, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.events import Envelope, Event
from microblog_shared.write.handling import wrap
from microblog_shared.write.port import ConcurrencyError, Reservation, ReservationTaken, StateUpdate

__all__ = [
    "APPENDED_CHANNEL",
    "INITIAL_SCHEMA",
    "RENUMBER_AFTER_RESTORE",
    "SCHEMA",
    "STREAM_LOCK",
    "TRANSACTION_IDS",
    "BatchAppend",
    "ConcurrencyError",
    "EventStore",
    "LogCursor",
    "Reservation",
    "ReservationTaken",
    "StateUpdate",
]

STREAM_LOCK = 7_000_001  # advisory-lock class of "an append to this stream (hashtext of its id) is running"
APPENDED_CHANNEL = "events_appended"

# What the first migration of every write service created (kept as it was: migrations are history).
INITIAL_SCHEMA = [
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
# Concurrent appends (issue 18): each row's writing transaction, and relays' progress as (xact, position).
# Rows written before it get xact 0: they committed in position order under the former append lock.
TRANSACTION_IDS = [
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS xact xid8 NOT NULL DEFAULT '0'",
    "ALTER TABLE events ALTER COLUMN xact SET DEFAULT pg_current_xact_id()",
    "CREATE INDEX IF NOT EXISTS events_xact_position ON events (xact, position)",
    "ALTER TABLE relay_positions ADD COLUMN IF NOT EXISTS xact xid8 NOT NULL DEFAULT '0'",
    "ALTER TABLE relay_positions ADD COLUMN IF NOT EXISTS relayed bigint NOT NULL DEFAULT 0",
    """UPDATE relay_positions r SET relayed = (SELECT count(*) FROM events e WHERE e.position <= r.position)
       WHERE r.xact = '0'""",
]
SCHEMA = [*INITIAL_SCHEMA, *TRANSACTION_IDS]
# After restoring a logical dump (pg_dump) into another server, rows carry transaction ids that
# server has not reached: new appends would sort before them. Number the old rows 0 (the log's
# order among them becomes position order, which keeps each stream in order) and move every
# relay back to just before the first event it had not published: nothing is skipped, a few
# events are sent again (consumers dedupe). Run once, relays stopped (docs/operations.md).
RENUMBER_AFTER_RESTORE = [
    """UPDATE relay_positions r SET xact = '0', position = coalesce(
           (SELECT min(e.position) - 1 FROM events e WHERE (e.xact, e.position) > (r.xact, r.position)),
           (SELECT coalesce(max(position), 0) FROM events))""",
    "UPDATE events SET xact = '0' WHERE xact <> '0'",
]


class LogCursor(NamedTuple):
    """A place in the log's order: (id of the writing transaction, position within it)."""

    xact: int
    position: int


START = LogCursor(0, 0)

_INSERT_ONE = text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                          occurred_at, producer, correlation_id, causation_id, payload)
                      VALUES (:event_id, :stream_id, :stream_version, :type, :schema_version,
                          :occurred_at, :producer, :correlation_id, :causation_id, CAST(:payload AS jsonb))
                      ON CONFLICT (stream_id, stream_version) DO NOTHING RETURNING position""")
_INSERT_MANY = text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                           occurred_at, producer, correlation_id, causation_id, payload)
                       SELECT e, s, v, t, sv, o, :producer, c, ca, p FROM unnest(
                           CAST(:e AS uuid[]), CAST(:s AS text[]), CAST(:v AS int[]), CAST(:t AS text[]),
                           CAST(:sv AS int[]), CAST(:o AS timestamptz[]), CAST(:c AS text[]), CAST(:ca AS text[]),
                           CAST(:p AS jsonb[])) WITH ORDINALITY AS x(e, s, v, t, sv, o, c, ca, p, n)
                       ORDER BY n ON CONFLICT (stream_id, stream_version) DO NOTHING
                       RETURNING event_id, position""")
# Settled rows after a cursor: written by transactions older than every one still running, which
# therefore all ended; a transaction that has not ended can only write rows at or above the bound.
_READ_SETTLED = text("""SELECT *, CAST(CAST(xact AS text) AS bigint) AS xact_id FROM events
                        WHERE xact < pg_snapshot_xmin(pg_current_snapshot())
                          AND (xact, position) > (CAST(:x AS xid8), :p)
                        ORDER BY xact, position LIMIT :n""")
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
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:c, hashtext(:s))"), {"c": STREAM_LOCK, "s": stream_id}
            )
            actual = await _version_before_any_write(conn, stream_id)
            if actual != expected_version:
                raise ConcurrencyError(stream_id, expected_version, actual)
            for reservation in release:
                await conn.execute(
                    text("DELETE FROM reservations WHERE kind = :k AND value = :v AND stream_id = :s"),
                    {"k": reservation.kind, "v": reservation.value, "s": stream_id},
                )
            for reservation in reserve:  # in the caller's order: the first taken one is the one reported
                await _reserve(conn, stream_id, reservation)
            appended = []
            for number, event in enumerate(events, start=expected_version + 1):
                envelope = wrap(event, stream_id, number, self.producer)
                position = await conn.scalar(
                    _INSERT_ONE,
                    {**envelope.model_dump(exclude={"payload", "position"}), "payload": json.dumps(envelope.payload)},
                )
                if position is None:  # an append_batch (which takes no stream lock) wrote this version first
                    raise ConcurrencyError(stream_id, expected_version, await self.stream_version(conn, stream_id))
                appended.append(envelope.model_copy(update={"position": position}))
            await _finish(conn, update_state)
        return appended

    async def append_batch(
        self,
        appends: Sequence[BatchAppend],
        update_state: StateUpdate | None = None,
    ) -> list[Envelope]:
        """Append to many streams in ONE transaction: for imports and seeding, not for commands.

        Each item is `(stream_id, expected_version, events, reservations to claim)`, a stream at
        most once. It takes no stream locks (thousands of streams would fill PostgreSQL's lock
        table): its version check comes before any write, so its transaction id is drawn after
        every event it builds on committed (the log keeps each stream in order, ADR 9), and a
        concurrent append of the same version makes its insert find the row and raise
        ConcurrencyError. It costs a fixed handful of statements whatever the batch size: one
        version check, one insert of the reservations, one of the events (in the order given, so
        each stream's events keep their order), then `update_state` once for the whole batch (the
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
            await _check_versions(conn, expected)
            await _reserve_all(conn, claims)
            appended = await self._insert_all(conn, envelopes, expected)
            await _finish(conn, update_state)
        return appended

    async def _insert_all(
        self, conn: AsyncConnection, envelopes: list[Envelope], expected: dict[str, int]
    ) -> list[Envelope]:
        """Insert the envelopes with one statement, in their order; each with its position."""
        columns = [envelope.model_dump(mode="json", exclude={"position"}) for envelope in envelopes]
        parameters: dict[str, Any] = {key: [c[field] for c in columns] for key, field in _COLUMN_PARAMETERS}
        inserted = await conn.execute(
            _INSERT_MANY, {"producer": self.producer, **parameters, "p": [json.dumps(c["payload"]) for c in columns]}
        )
        drawn = {str(row.event_id): int(row.position) for row in inserted}
        for envelope in envelopes:
            if str(envelope.event_id) not in drawn:  # a concurrent append wrote this version first
                stream_id = envelope.stream_id
                raise ConcurrencyError(stream_id, expected[stream_id], await self.stream_version(conn, stream_id))
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
        """Committed events in position order, after position `after`: a look at the table, for tests and tools.

        Not a way to follow the log: a transaction still running may yet commit a lower position.
        """
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM events WHERE position > :a ORDER BY position LIMIT :n"), {"a": after, "n": limit}
            )
            return [row_to_envelope(r) for r in rows]

    async def read_settled(
        self, after: LogCursor = START, limit: int = 1000, conn: AsyncConnection | None = None
    ) -> list[tuple[LogCursor, Envelope]]:
        """The log after `after`, in (transaction id, position) order: each event with its cursor.

        Only events written by transactions older than the oldest one still running: no event can
        commit later before the last one returned, so a reader resuming from it skips nothing.
        Reads on `conn` when given (the relay's batch transaction), otherwise on a connection of its own.
        """
        if conn is None:
            async with self.engine.connect() as own:
                return await self.read_settled(after, limit, own)
        rows = await conn.execute(_READ_SETTLED, {"x": str(after.xact), "p": after.position, "n": limit})
        return [(LogCursor(r.xact_id, r.position), row_to_envelope(r)) for r in rows]

    async def count_after(self, after: LogCursor) -> tuple[int, bool]:
        """How many committed events follow `after` in the log, and whether any of them is not settled yet."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("""SELECT count(*) AS events,
                                   coalesce(bool_or(xact >= pg_snapshot_xmin(pg_current_snapshot())), false) AS held
                            FROM events WHERE (xact, position) > (CAST(:x AS xid8), :p)"""),
                    {"x": str(after.xact), "p": after.position},
                )
            ).one()
            return int(row.events), bool(row.held)

    async def transaction_ids_ahead(self) -> bool:
        """Whether the store holds transaction ids this server has not drawn yet: restored from a logical dump."""
        async with self.engine.connect() as conn:
            return bool(
                await conn.scalar(
                    text("""SELECT coalesce(greatest((SELECT max(CAST(CAST(xact AS text) AS bigint)) FROM relay_positions),
                                                     (SELECT CAST(CAST(xact AS text) AS bigint) FROM events
                                                      ORDER BY xact DESC LIMIT 1))
                                            >= CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS bigint),
                                            false)""")
                )
            )

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


async def _version_before_any_write(conn: AsyncConnection, stream_id: str) -> int:
    """The stream's version, read before the transaction wrote anything (so before it has an id).

    The log's order within a stream rests on it: an append's transaction id is drawn at its
    first write, after this read saw the stream's last event committed, so it is higher (ADR 9).
    """
    row = (
        await conn.execute(
            text("""SELECT max(stream_version) AS version, pg_current_xact_id_if_assigned() IS NULL AS fresh
                    FROM events WHERE stream_id = :s"""),
            {"s": stream_id},
        )
    ).one()
    if not row.fresh:
        raise RuntimeError("an append's version check must come before the transaction's first write")
    return int(row.version or 0)


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
        text("""SELECT stream_id, max(stream_version) AS version, pg_current_xact_id_if_assigned() IS NULL AS fresh
                FROM events WHERE stream_id = ANY(:s) GROUP BY stream_id"""),
        {"s": list(expected)},
    )
    rows = versions.all()
    if not all(row.fresh for row in rows):
        raise RuntimeError("a batch's version check must come before the transaction's first write")
    actual = {row.stream_id: row.version for row in rows}
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
