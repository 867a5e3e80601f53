"""Replay: rebuild a read model from offset 0 into a new version while the current one serves.

1. The next version gets a schema of its own, built by the service's migrations.
2. A runner with a consumer group of its own applies the whole log into it; for a projection
   with a bulk mode (`Projection.start_bulk`: secondary indexes, home timelines, mails left
   aside) in large batches (`BULK_BATCH` records per poll and transaction), with what was left
   aside built once it is close to the end (`finish_bulk`); the tail goes on in normal batches.
3. Once it is close to the end of the log, the switch: take the projection's switch lock
   alone (the live projector's next batch waits), let the replay reach at least the live
   projector's checkpoints, stop it, point `read_model_versions` at the new schema, announce
   it, release the lock. The live projector resumes from the new version's checkpoints; read
   APIs swap engines. Neither sees the read model go back in time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.bus import EventBus, TopicPartition
from microblog_shared.read.projection import ProjectionRunner, ProjectionSpec
from microblog_shared.read.readmodels import (
    DEFAULT_SCHEMA,
    current_schema,
    point_to,
    schema_engine,
    schema_name,
    switch_lock,
    use_schema,
    version_of,
)
from microblog_shared.runtime.db import create_engine
from microblog_shared.runtime.migrations import upgrade
from microblog_shared.runtime.settings import Settings

Progress = Callable[[int, int], None]  # (records applied by the replay, records in the log)

# Records per poll and transaction while a replay catches up: statements and round trips per
# record shrink with the batch, and nobody reads the new version yet.
BULK_BATCH = 10_000


@dataclass(frozen=True)
class ReplayResult:
    projection: str
    schema: str
    previous: str
    records: int
    seconds: float
    # Seconds of each step: schema (migrations), bulk (the log in large batches) and build (what
    # the projection left aside) when it has a bulk mode, switch (the rest in normal batches, then
    # the switch).
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def projection_specs() -> dict[str, ProjectionSpec]:
    """Every projection the installed services publish (entry point group `microblog.projections`)."""
    return {point.name: point.load() for point in entry_points(group="microblog.projections")}


async def checkpoints(conn: AsyncConnection, projection: str, schema: str) -> dict[TopicPartition, int]:
    await use_schema(conn, schema)
    rows = await conn.execute(
        text("SELECT topic, partition, next_offset FROM projection_checkpoints WHERE projection = :p"),
        {"p": projection},
    )
    return {TopicPartition(r.topic, r.partition): r.next_offset for r in rows}


@dataclass(frozen=True)
class _Running:
    """A replay's runner at work in a task of its own, and what stops it."""

    task: asyncio.Task[None]
    stop: asyncio.Event

    def check(self, before: str) -> None:
        """Raise if the runner stopped: with its own error if it failed."""
        if self.task.done():
            self.task.result()
            raise RuntimeError(f"the replay's runner stopped before {before}")


class Replay:
    def __init__(
        self,
        spec: ProjectionSpec,
        settings: Settings,
        bus: EventBus,
        close_enough: int = 500,
        bulk_batch: int = BULK_BATCH,
    ) -> None:
        self.spec, self.settings, self.bus = spec, settings, bus
        self.projection = spec.make(settings)
        self.close_enough = close_enough  # records behind the log's end at which the switch starts
        self.bulk_batch = bulk_batch  # records per transaction until then

    async def run(self, progress: Progress | None = None, drop_old: bool = False) -> ReplayResult:
        started = time.monotonic()
        steps: dict[str, float] = {}

        def step(name: str) -> None:
            steps[name] = round(time.monotonic() - started - sum(steps.values()), 3)

        engine = create_engine(self.settings.database_url, pool_size=2)
        try:
            previous, schema = await self._next_version(engine)
            await asyncio.to_thread(upgrade, self.spec.package, self.settings.database_url, schema)
            target = schema_engine(self.settings.database_url, schema, pool_size=2)
            try:
                async with target.begin() as conn:
                    await use_schema(conn, schema)
                    bulk = await self.projection.start_bulk(conn)  # costly parts left aside until the end
                step("schema")
                if bulk:  # else one runner in normal batches does it all (as many group joins as before)
                    async with self._running(target, schema, self.bulk_batch) as running:
                        await self._catch_up(engine, schema, running, progress)
                    step("bulk")
                    async with target.begin() as conn:
                        await use_schema(conn, schema)
                        await self.projection.finish_bulk(conn)
                    step("build")
                async with self._running(target, schema) as running:
                    await self._catch_up(engine, schema, running, progress)
                    records = await self._switch(engine, previous, schema, running)
                step("switch")
            finally:
                await target.dispose()
            if progress:
                progress(records, records)
            if drop_old and previous != DEFAULT_SCHEMA:
                async with engine.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA "{previous}" CASCADE'))
            await self.projection.read_model_switched(previous, schema, drop_old)
            return ReplayResult(self.spec.name, schema, previous, records, time.monotonic() - started, steps)
        finally:
            await engine.dispose()
            await self.projection.close()

    @asynccontextmanager
    async def _running(self, target: AsyncEngine, schema: str, batch_size: int = 500) -> AsyncIterator[_Running]:
        """A runner applying the log into `schema` (its own consumer group) until the block ends."""
        group = f"replay.{self.spec.name}.{schema}"
        runner = ProjectionRunner(self.projection, target, self.bus, batch_size=batch_size, group=group, schema=schema)
        stop = asyncio.Event()
        running = _Running(asyncio.create_task(runner.run(stop)), stop)
        try:
            yield running
        finally:
            stop.set()
            await asyncio.gather(running.task, return_exceptions=True)

    async def _next_version(self, engine: AsyncEngine) -> tuple[str, str]:
        async with engine.connect() as conn:
            previous = await current_schema(conn, self.spec.name)
            prefix = schema_name(self.spec.name, 0)[:-1]
            existing: Sequence[str] = (
                (
                    await conn.execute(
                        text("SELECT schema_name FROM information_schema.schemata WHERE starts_with(schema_name, :p)"),
                        {"p": prefix},
                    )
                )
                .scalars()
                .all()
            )
        version = max([version_of(previous), *(version_of(s) for s in existing)]) + 1
        return previous, schema_name(self.spec.name, version)

    def _partitions(self) -> list[TopicPartition]:
        return [
            TopicPartition(topic, p) for topic in self.projection.topics for p in range(self.settings.bus_partitions)
        ]

    async def _applied(self, engine: AsyncEngine, schema: str) -> dict[TopicPartition, int]:
        async with engine.connect() as conn:
            return await checkpoints(conn, self.spec.name, schema)

    async def _catch_up(self, engine: AsyncEngine, schema: str, running: _Running, progress: Progress | None) -> None:
        await self.bus.ensure_topics(list(self.projection.topics))
        while True:
            running.check("it caught up")
            end = sum((await self.bus.end_offsets(self._partitions())).values())
            applied = sum((await self._applied(engine, schema)).values())
            if progress:
                progress(applied, end)
            if end - applied <= self.close_enough:
                return
            await asyncio.sleep(0.25)

    async def _switch(self, engine: AsyncEngine, previous: str, schema: str, running: _Running) -> int:
        lock = switch_lock(self.spec.name)
        async with engine.connect() as holder:
            await holder.execution_options(isolation_level="AUTOCOMMIT")
            await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock})
            try:
                # The live projector is paused between batches now: its checkpoints stand still.
                async with engine.connect() as conn:
                    live = await checkpoints(conn, self.spec.name, previous)
                while True:
                    applied = await self._applied(engine, schema)
                    if all(applied.get(tp, 0) >= offset for tp, offset in live.items()):
                        break
                    running.check("the switch")
                    await asyncio.sleep(0.05)
                running.stop.set()
                await running.task  # its last batch is committed: nobody else writes to the new schema
                async with engine.begin() as conn:
                    await point_to(conn, self.spec.name, schema)
                return sum((await self._applied(engine, schema)).values())
            finally:
                await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
