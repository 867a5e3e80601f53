"""The projection runner: bus records in, read-model changes out, exactly once in effect.

Each batch is one transaction on the read model's database that applies the events, moves
the per-stream versions (the dedupe key) and stores the partition checkpoints. On partition
assignment the consumer seeks to those checkpoints, so the bus's own committed offsets are
only a hint for lag dashboards. A record that fails to apply is rolled back alone (savepoint)
and sent to the projection's dead-letter topic; the projection goes on. A deadlock or a
serialization failure (projector replicas touching the same rows) is no poison: the batch is
tried again as it was.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.bus import ConsumedRecord, EventBus, Record, TopicPartition
from microblog_shared.events import Envelope, Event, EventRegistry, UnknownEventType
from microblog_shared.events import registry as default_registry
from microblog_shared.read.readmodels import POINTER_TABLE, enter_current, use_schema
from microblog_shared.read.streams import DeadRecord, Keyed, decode, dedupe_key, new_events
from microblog_shared.runtime import context, metrics
from microblog_shared.runtime.db import transient

log = logging.getLogger(__name__)

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS projection_checkpoints (
        projection text NOT NULL, topic text NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL,
        PRIMARY KEY (projection, topic, partition))""",
    """CREATE TABLE IF NOT EXISTS projection_streams (
        projection text NOT NULL, stream_id text NOT NULL, version int NOT NULL,
        PRIMARY KEY (projection, stream_id))""",
    POINTER_TABLE,
]

# A batch that met a deadlock or serialization failure (runtime.db.transient) is tried again.
TRANSIENT_ATTEMPTS = 8


class ReadModelSwitched(Exception):
    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.schema = schema


@contextmanager
def _correlated(envelope: Envelope) -> Iterator[None]:
    """Log what applying `envelope` does under the correlation id of the request behind it."""
    token = context.correlation_id.set(envelope.correlation_id)
    try:
        yield
    finally:
        context.correlation_id.reset(token)


class Projection(ABC):
    """A read model built from events: what the runner and a replay call on it.

    A projection names itself and the topics it reads and implements `apply`; every other
    hook has a default that does what a projection without that need wants.
    """

    name: str
    topics: Sequence[str]
    # True for a projection that reads one stream from several topics (see `dedupe_key`).
    streams_span_topics: bool = False

    @abstractmethod
    async def apply(self, conn: AsyncConnection, event: Event, envelope: Envelope) -> None:
        """Change the read model for one event, inside the runner's transaction."""

    async def apply_many(self, conn: AsyncConnection, events: list[tuple[Event, Envelope]]) -> None:
        """Change the read model for new events in log order, as `apply` on each one in turn would.

        Runners call it with a whole polled batch (duplicates already left out) and fall back to
        `apply`, one savepoint per event, when it raises. By default: `apply` on each one.
        """
        for event, envelope in events:
            with _correlated(envelope):
                await self.apply(conn, event, envelope)

    async def start_bulk(self, conn: AsyncConnection) -> bool:
        """A replay is about to apply the whole log into fresh tables (`conn` is in their schema):
        leave costly parts of the model aside (secondary indexes, derived tables, side effects).

        Return whether anything was left aside; the replay then calls `finish_bulk` once it has
        caught up, with its runner stopped, and applies the rest of the log normally. By default
        nothing is left aside.
        """
        return False

    async def finish_bulk(self, conn: AsyncConnection) -> None:
        """Build what `start_bulk` left aside, in the replay's schema, and go back to normal."""

    async def read_model_switched(self, previous: str, schema: str, drop_previous: bool) -> None:
        """A replay made `schema` current: state kept outside PostgreSQL (a search index) follows."""

    async def close(self) -> None:
        """Release what the projection holds besides the runner's engine (a search client)."""


@dataclass(frozen=True)
class BatchResult:
    """What one transaction made of a polled batch."""

    applied: int  # events applied (duplicates and dead letters left out)
    dead: list[DeadRecord]  # records set aside for the dead-letter topic, with why


@dataclass(frozen=True)
class ProjectionSpec:
    """What operators need to run a projection anywhere: services publish theirs as an entry point
    in the `microblog.projections` group (see `replay.py`)."""

    name: str
    package: str  # the service package: its migrations build the projection's tables
    settings_class: type
    make: Callable[..., Projection]  # settings -> projection


def notify_channel(projection: str) -> str:
    return f"projection_{projection.replace('-', '_').replace('.', '_')}"


class ProjectionRunner:
    def __init__(
        self,
        projection: Projection,
        engine: AsyncEngine,
        bus: EventBus,
        registry: EventRegistry = default_registry,
        batch_size: int = 500,
        group: str | None = None,
        schema: str | None = None,
    ) -> None:
        self.projection = projection
        self.engine = engine
        self.bus = bus
        self.registry = registry
        self.batch_size = batch_size
        # A replay into fresh tables reads the log with a consumer group of its own.
        self.group = group or f"projection.{projection.name}"
        # A replay writes to the fixed schema of the version it builds; the live projector
        # follows the version being served (readmodels.py).
        self.fixed_schema = schema
        self.schema: str | None = None
        self.dead_letter_topic = f"deadletter.{projection.name}"
        self.consumer = bus.consumer(self.group, list(projection.topics), on_assign=self._seek_to_checkpoints)

    async def _seek_to_checkpoints(self, partitions: set[TopicPartition]) -> None:
        stored = await self.checkpoints()
        for tp in partitions:
            await self.consumer.seek(tp, stored.get(tp, 0))

    async def checkpoints(self) -> dict[TopicPartition, int]:
        async with self.engine.connect() as conn:
            await self._enter_schema(conn)
            rows = await conn.execute(
                text("SELECT topic, partition, next_offset FROM projection_checkpoints WHERE projection = :p"),
                {"p": self.projection.name},
            )
            return {TopicPartition(r.topic, r.partition): r.next_offset for r in rows}

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        try:
            if self.fixed_schema is not None:
                await self._run_ahead(stop)
            while not stop.is_set():
                records = await self.consumer.poll(max_records=self.batch_size, timeout=0.5)
                if records:
                    await self.handle(records)
        finally:
            await self.consumer.stop()

    async def _run_ahead(self, stop: asyncio.Event) -> None:
        """A replay's loop: the next batch is polled and decoded while this one is applied.

        Only for a fixed schema (a replay), where no switch makes the runner seek while a poll
        is in flight. The bus offsets are committed once the poll is back (the postgres bus
        polls and commits on one connection).
        """
        polled = await self._poll_decoded()
        while not stop.is_set():
            records, decoded = polled
            if not records:
                polled = await self._poll_decoded()
                continue
            ahead = asyncio.create_task(self._poll_decoded())
            try:
                await self.handle(records, decoded, commit=False)
            finally:
                polled = await ahead
            await self.consumer.commit({r.topic_partition: r.offset + 1 for r in records})

    async def _poll_decoded(self) -> tuple[list[ConsumedRecord], list[tuple[ConsumedRecord, Envelope]] | None]:
        records = await self.consumer.poll(max_records=self.batch_size, timeout=0.5)
        try:
            return records, decode(records, isolate=False)[0]
        except Exception:
            return records, None  # `handle` decodes them again and sets the undecodable ones aside

    async def handle(
        self,
        records: list[ConsumedRecord],
        decoded: list[tuple[ConsumedRecord, Envelope]] | None = None,
        commit: bool = True,
    ) -> BatchResult | None:
        """Apply one polled batch in one transaction, then commit the bus offsets (unless `commit`
        is false: the caller does). `decoded`: the records' envelopes, when already decoded.

        The fast path applies the whole batch at once; if any event fails, the batch is rolled
        back and applied again one savepoint per event, so only the poison ones are set aside.
        None: the read model switched versions meanwhile and the batch will be polled again.
        """
        checkpoints = {r.topic_partition: r.offset + 1 for r in records}
        try:
            try:
                result = await self._in_transaction(records, checkpoints, decoded)
            except ReadModelSwitched:
                raise
            except Exception:
                log.warning("a batch of %d events failed; applying them one by one", len(records))
                result = await self._in_transaction(records, checkpoints, None, isolate=True)
        except ReadModelSwitched as switched:
            # A replay made another version current while this batch was polled: go on from
            # that version's checkpoints (at or past ours) instead of writing to the old one.
            log.info("projection %s now writes to schema %s", self.projection.name, switched.schema)
            await self._seek_to_checkpoints(self.consumer.assignment())
            return None
        if commit:
            await self.consumer.commit(checkpoints)
        return result

    async def _in_transaction(
        self,
        records: list[ConsumedRecord],
        checkpoints: dict[TopicPartition, int],
        decoded: list[tuple[ConsumedRecord, Envelope]] | None,
        isolate: bool = False,
    ) -> BatchResult:
        """The batch in one transaction; tried again after a short random pause while it fails
        for a transient reason (a deadlock or serialization failure with another replica)."""
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                async with self.engine.begin() as conn:
                    await self._enter_schema(conn)
                    result = await self._apply_batch(conn, records, decoded, isolate)
                    if result.dead:
                        await self._dead_letter(result.dead)
                    await self._store_checkpoints(conn, checkpoints)
            except Exception as error:
                if not transient(error) or attempt == TRANSIENT_ATTEMPTS:
                    raise
                log.info("batch of %d events met a concurrent transaction (%s); again", len(records), error)
                await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
                continue
            metrics.EVENTS_APPLIED.labels(self.projection.name).inc(result.applied)
            return result
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _enter_schema(self, conn: AsyncConnection) -> None:
        """Write to the fixed schema (a replay) or to the current version (the live projector)."""
        if self.fixed_schema is not None:
            await use_schema(conn, self.fixed_schema)
            return
        schema = await enter_current(conn, self.projection.name)
        if self.schema is not None and schema != self.schema:
            self.schema = schema
            raise ReadModelSwitched(schema)
        self.schema = schema

    async def _apply_batch(
        self,
        conn: AsyncConnection,
        records: list[ConsumedRecord],
        decoded: list[tuple[ConsumedRecord, Envelope]] | None,
        isolate: bool,
    ) -> BatchResult:
        """Apply the records not applied yet: all at once, or (`isolate`) one savepoint each."""
        undecodable: list[DeadRecord] = []
        if decoded is None:
            decoded, undecodable = decode(records, isolate)
        keyed = [(record, envelope, self._key(record.topic, envelope.stream_id)) for record, envelope in decoded]
        fresh, superseded = new_events(keyed, await self._applied_versions(conn, {key for _, _, key in keyed}))
        if isolate:
            applied, failed = await self._apply_each(conn, fresh)
        else:
            await self._apply_all(conn, [envelope for _, envelope, _ in fresh])
            applied, failed = fresh, []
        await self._store_versions(conn, {key: envelope.stream_version for _, envelope, key in applied})
        return BatchResult(len(applied), undecodable + superseded + failed)

    def _key(self, topic: str, stream_id: str) -> str:
        return dedupe_key(topic, stream_id, self.projection.streams_span_topics)

    async def _applied_versions(self, conn: AsyncConnection, streams: set[str]) -> dict[str, int]:
        rows = await conn.execute(
            text("SELECT stream_id, version FROM projection_streams WHERE projection = :p AND stream_id = ANY(:s)"),
            {"p": self.projection.name, "s": sorted(streams)},
        )
        return {r.stream_id: r.version for r in rows}

    async def _store_versions(self, conn: AsyncConnection, versions: dict[str, int]) -> None:
        await conn.execute(
            text("""INSERT INTO projection_streams AS s (projection, stream_id, version)
                    SELECT :p, i, v FROM unnest(CAST(:i AS text[]), CAST(:v AS int[])) x(i, v)
                    ON CONFLICT (projection, stream_id) DO UPDATE SET version = EXCLUDED.version
                    WHERE s.version < EXCLUDED.version"""),
            {"p": self.projection.name, "i": list(versions), "v": list(versions.values())},
        )

    async def _apply_all(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        events = [(event, envelope) for envelope in envelopes if (event := self._event(envelope)) is not None]
        if events:
            await self.projection.apply_many(conn, events)

    async def _apply_each(self, conn: AsyncConnection, fresh: list[Keyed]) -> tuple[list[Keyed], list[DeadRecord]]:
        """Apply events one savepoint each: the ones that fail are set aside, the others stay applied."""
        applied: list[Keyed] = []
        failed: list[DeadRecord] = []
        for record, envelope, key in fresh:
            try:
                async with conn.begin_nested():
                    await self._apply(conn, envelope)
            except Exception as error:
                if transient(error):
                    raise  # the whole batch is tried again: the event did nothing wrong
                log.exception("event %s failed to apply; sending it to %s", envelope.event_id, self.dead_letter_topic)
                failed.append((record, traceback.format_exc(limit=5)))
            else:
                applied.append((record, envelope, key))
        return applied, failed

    async def _apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        event = self._event(envelope)
        if event is not None:
            with _correlated(envelope):
                await self.projection.apply(conn, event, envelope)

    def _event(self, envelope: Envelope) -> Event | None:
        try:
            return self.registry.decode(envelope)
        except UnknownEventType:
            return None  # a fact this projection has no use for

    async def _store_checkpoints(self, conn: AsyncConnection, checkpoints: dict[TopicPartition, int]) -> None:
        await conn.execute(
            text("""INSERT INTO projection_checkpoints (projection, topic, partition, next_offset)
                    SELECT :p, t, n, o FROM unnest(CAST(:t AS text[]), CAST(:n AS int[]), CAST(:o AS bigint[])) x(t, n, o)
                    ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset"""),
            {
                "p": self.projection.name,
                "t": [tp.topic for tp in checkpoints],
                "n": [tp.partition for tp in checkpoints],
                "o": list(checkpoints.values()),
            },
        )
        await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": notify_channel(self.projection.name)})

    async def _dead_letter(self, dead: list[DeadRecord]) -> None:
        records = [
            Record(
                key=record.key,
                value=record.value,
                headers={
                    **record.headers,
                    "error": error[-2000:],
                    "source": json.dumps([record.topic, record.partition, record.offset]),
                },
            )
            for record, error in dead
        ]
        await self.bus.publish(self.dead_letter_topic, records)
        metrics.DEAD_LETTERS.labels(self.projection.name).inc(len(records))
