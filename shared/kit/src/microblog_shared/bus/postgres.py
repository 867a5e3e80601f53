"""The `postgres` EventBus adapter: a durable, partitioned log in PostgreSQL tables.

- A partition's next offset is a row; publishing takes its row lock until commit, so offsets
  become visible in order and a reader at "offset >= position" can never skip a late commit.
- Group members are rows that name their control connection's backend; a member is alive
  while that backend is (a SIGKILLed consumer's connection closes, and its partitions move).
- A member consumes a partition only while holding a session advisory lock on it, so two
  members never read one partition at once, even mid-rebalance.
- Publishers NOTIFY; consumers LISTEN and wake at once instead of polling.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.bus.port import AssignmentCallback, ConsumedRecord, Record, TopicPartition, partition_for
from microblog_shared.runtime.db import create_engine, psycopg_connection

CHANNEL = "bus_records"

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS bus_topics (
        name text PRIMARY KEY, partitions int NOT NULL CHECK (partitions > 0))""",
    """CREATE TABLE IF NOT EXISTS bus_partitions (
        topic text NOT NULL REFERENCES bus_topics (name), partition int NOT NULL,
        next_offset bigint NOT NULL DEFAULT 0, PRIMARY KEY (topic, partition))""",
    """CREATE TABLE IF NOT EXISTS bus_records (
        topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
        key text NOT NULL, value bytea NOT NULL, headers jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, partition, "offset"))""",
    """CREATE TABLE IF NOT EXISTS bus_group_offsets (
        group_id text NOT NULL, topic text NOT NULL, partition int NOT NULL,
        next_offset bigint NOT NULL, PRIMARY KEY (group_id, topic, partition))""",
    """CREATE TABLE IF NOT EXISTS bus_members (
        group_id text NOT NULL, member_id text NOT NULL, backend_pid int NOT NULL,
        backend_start timestamptz NOT NULL, joined_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, member_id))""",
]


def _lock_key(*parts: str) -> int:
    """A signed 32-bit advisory-lock key for a name."""
    return zlib.crc32("/".join(parts).encode()) - 2**31


class PostgresBus:
    """The durable log in PostgreSQL: the embedded default of the platform."""

    name = "postgres"

    def __init__(self, url: str, partitions: int = 4) -> None:
        self.url = url
        self.partitions = partitions
        self.engine = create_engine(url)
        self._known: dict[str, int] = {}
        self._schema_ready = False

    async def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("bus-schema")})
            for statement in SCHEMA:
                await conn.execute(text(statement))
        self._schema_ready = True

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        # In name order: two callers creating overlapping topics wait on each other instead of deadlocking.
        missing = sorted({t for t in topics if t not in self._known})
        if not missing:
            return
        await self._ensure_schema()
        counts: dict[str, int] = {}
        async with self.engine.begin() as conn:
            for topic in missing:
                await conn.execute(
                    text("INSERT INTO bus_topics VALUES (:t, :n) ON CONFLICT DO NOTHING"),
                    {"t": topic, "n": self.partitions},
                )
                await conn.execute(
                    text("""INSERT INTO bus_partitions (topic, partition)
                            SELECT :t, p FROM generate_series(0, :n - 1) p ON CONFLICT DO NOTHING"""),
                    {"t": topic, "n": self.partitions},
                )
                counts[topic] = await conn.scalar(
                    text("SELECT partitions FROM bus_topics WHERE name = :t"), {"t": topic}
                )
        # Known only once committed: a concurrent publish must not update partitions it cannot see yet.
        self._known.update(counts)

    async def partitions_of(self, topic: str) -> int:
        await self.ensure_topics([topic])
        return self._known[topic]

    async def publish(self, topic: str, records: Sequence[Record]) -> None:
        if not records:
            return
        partitions = await self.partitions_of(topic)
        by_partition: dict[int, list[Record]] = {}
        for record in records:
            by_partition.setdefault(partition_for(record.key, partitions), []).append(record)
        async with self.engine.begin() as conn:
            for partition in sorted(by_partition):  # one lock order: no deadlocks between publishers
                batch = by_partition[partition]
                end = await conn.scalar(
                    text("""UPDATE bus_partitions SET next_offset = next_offset + :n
                            WHERE topic = :t AND partition = :p RETURNING next_offset"""),
                    {"n": len(batch), "t": topic, "p": partition},
                )
                first = end - len(batch)
                await conn.execute(
                    text("""INSERT INTO bus_records (topic, partition, "offset", key, value, headers)
                            SELECT :t, :p, o, k, v, h::jsonb
                            FROM unnest(CAST(:o AS bigint[]), CAST(:k AS text[]), CAST(:v AS bytea[]),
                                        CAST(:h AS text[])) AS r(o, k, v, h)"""),
                    {
                        "t": topic,
                        "p": partition,
                        "o": list(range(first, end)),
                        "k": [r.key for r in batch],
                        "v": [r.value for r in batch],
                        "h": [json.dumps(r.headers) for r in batch],
                    },
                )
            await conn.execute(text("SELECT pg_notify(:c, :t)"), {"c": CHANNEL, "t": topic})

    def consumer(
        self, group: str, topics: Sequence[str], on_assign: AssignmentCallback | None = None
    ) -> PostgresConsumer:
        return PostgresConsumer(self, group, list(topics), on_assign)

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        await self.ensure_topics(sorted({tp.topic for tp in partitions}))
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT topic, partition, next_offset FROM bus_partitions WHERE topic = ANY(:t)"),
                {"t": sorted({tp.topic for tp in partitions})},
            )
            ends = {TopicPartition(r.topic, r.partition): r.next_offset for r in rows}
        return {tp: ends.get(tp, 0) for tp in partitions}

    async def committed(self, group: str, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The group's committed next offsets (0 where nothing was committed)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT topic, partition, next_offset FROM bus_group_offsets WHERE group_id = :g"),
                {"g": group},
            )
            stored = {TopicPartition(r.topic, r.partition): r.next_offset for r in rows}
        return {tp: stored.get(tp, 0) for tp in partitions}

    async def close(self) -> None:
        await self.engine.dispose()


class PostgresConsumer:
    """A member of a consumer group on the PostgreSQL log."""

    REBALANCE_EVERY = 0.5  # seconds between membership checks while polling

    def __init__(self, bus: PostgresBus, group: str, topics: list[str], on_assign: AssignmentCallback | None):
        self.bus = bus
        self.group = group
        self.topics = topics
        self.on_assign = on_assign
        self.member_id = uuid.uuid4().hex
        self._control: AsyncConnection | None = None  # holds the advisory locks and membership
        self._listener: AsyncConnection | None = None  # LISTENs for new records
        self._positions: dict[TopicPartition, int] = {}
        self._polled: dict[TopicPartition, int] = {}
        self._next_rebalance = 0.0

    async def start(self) -> None:
        await self.bus.ensure_topics(self.topics)
        self._control = await self.bus.engine.connect()
        await self._control.execution_options(isolation_level="AUTOCOMMIT")
        await self._control.execute(
            text("""INSERT INTO bus_members (group_id, member_id, backend_pid, backend_start)
                    SELECT :g, :m, pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"""),
            {"g": self.group, "m": self.member_id},
        )
        self._listener = await self.bus.engine.connect()
        await self._listener.execution_options(isolation_level="AUTOCOMMIT")
        await self._listener.execute(text(f"LISTEN {CHANNEL}"))
        await self._rebalance()

    @property
    def control(self) -> AsyncConnection:
        """The connection that holds the membership and the partitions' advisory locks."""
        if self._control is None:
            raise RuntimeError("the consumer is not started")
        return self._control

    def assignment(self) -> set[TopicPartition]:
        return set(self._positions)

    async def _all_partitions(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t in sorted(self.topics) for p in range(await self.bus.partitions_of(t))]

    async def _live_members(self) -> list[str]:
        await self.control.execute(
            text("""DELETE FROM bus_members m WHERE group_id = :g AND NOT EXISTS (
                        SELECT 1 FROM pg_stat_activity a
                        WHERE a.pid = m.backend_pid AND a.backend_start = m.backend_start)"""),
            {"g": self.group},
        )
        rows = await self.control.execute(
            text("SELECT member_id FROM bus_members WHERE group_id = :g ORDER BY joined_at, member_id"),
            {"g": self.group},
        )
        return [r.member_id for r in rows]

    async def _rebalance(self) -> None:
        """Take the partitions this member should own (round robin over live members)."""
        self._next_rebalance = time.monotonic() + self.REBALANCE_EVERY
        members = await self._live_members()
        index = members.index(self.member_id)
        wanted = {tp for i, tp in enumerate(await self._all_partitions()) if i % len(members) == index}
        for tp in set(self._positions) - wanted:
            await self.control.execute(text("SELECT pg_advisory_unlock(:a, :b)"), self._key(tp))
            del self._positions[tp]
            self._polled.pop(tp, None)
        gained = set()
        for tp in sorted(wanted - set(self._positions)):
            if await self.control.scalar(text("SELECT pg_try_advisory_lock(:a, :b)"), self._key(tp)):
                gained.add(tp)
        if gained:
            committed = await self.bus.committed(self.group, sorted(gained))
            self._positions.update(committed)
            if self.on_assign:
                await self.on_assign(set(gained))

    def _key(self, tp: TopicPartition) -> dict[str, int]:
        return {"a": _lock_key("bus-group", self.group), "b": _lock_key(tp.topic, str(tp.partition))}

    async def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[ConsumedRecord]:
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() >= self._next_rebalance:
                await self._rebalance()
            records = await self._fetch(max_records)
            remaining = deadline - time.monotonic()
            if records or remaining <= 0:
                return records
            await self._wait_for_records(min(remaining, max(0.05, self._next_rebalance - time.monotonic())))

    async def _fetch(self, max_records: int) -> list[ConsumedRecord]:
        if not self._positions:
            return []
        owned = sorted(self._positions)
        per_partition = max(1, -(-max_records // len(owned)))
        rows = await self.control.execute(
            text("""SELECT r.topic, r.partition, r."offset", r.key, r.value, r.headers,
                           (extract(epoch FROM r.created_at) * 1000)::bigint AS ts
                    FROM unnest(CAST(:t AS text[]), CAST(:p AS int[]), CAST(:o AS bigint[])) AS pos(t, p, o)
                    CROSS JOIN LATERAL (
                        SELECT * FROM bus_records
                        WHERE topic = pos.t AND partition = pos.p AND "offset" >= pos.o
                        ORDER BY "offset" LIMIT :n) r
                    ORDER BY r.topic, r.partition, r."offset" """),
            {
                "t": [tp.topic for tp in owned],
                "p": [tp.partition for tp in owned],
                "o": [self._positions[tp] for tp in owned],
                "n": per_partition,
            },
        )
        records = [ConsumedRecord(r.topic, r.partition, r.offset, r.key, bytes(r.value), r.headers, r.ts) for r in rows]
        for record in records:
            self._positions[record.topic_partition] = record.offset + 1
            self._polled[record.topic_partition] = record.offset + 1
        return records

    async def _wait_for_records(self, seconds: float) -> None:
        assert self._listener is not None, "the consumer is not started"
        driver = await psycopg_connection(self._listener)
        try:
            async for _ in driver.notifies(timeout=seconds, stop_after=1):
                pass
        except TimeoutError:  # older psycopg raised instead of returning
            pass

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        offsets = dict(self._polled) if offsets is None else offsets
        owned = {tp: off for tp, off in offsets.items() if tp in self._positions}
        if not owned:
            return
        await self.control.execute(
            text("""INSERT INTO bus_group_offsets (group_id, topic, partition, next_offset)
                    SELECT :g, t, p, o FROM unnest(CAST(:t AS text[]), CAST(:p AS int[]), CAST(:o AS bigint[])) x(t, p, o)
                    ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset"""),
            {
                "g": self.group,
                "t": [tp.topic for tp in owned],
                "p": [tp.partition for tp in owned],
                "o": list(owned.values()),
            },
        )

    async def seek(self, partition: TopicPartition, offset: int) -> None:
        if partition not in self._positions:
            raise ValueError(f"{partition} is not assigned to this consumer")
        self._positions[partition] = offset

    async def seek_to_beginning(self) -> None:
        for tp in self._positions:
            self._positions[tp] = 0

    async def stop(self) -> None:
        if self._control is not None:
            await self._control.execute(
                text("DELETE FROM bus_members WHERE group_id = :g AND member_id = :m"),
                {"g": self.group, "m": self.member_id},
            )
            await self._control.execute(text("SELECT pg_advisory_unlock_all()"))
            await self._control.close()
            self._control = None
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        self._positions.clear()
        self._polled.clear()
