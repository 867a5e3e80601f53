"""The exporter worker: advances every unfinished export, a chunk at a time, until complete.

Each round takes one chunk of each unfinished export that no other exporter holds (an advisory
lock per export), so replicas share the work, a long export doesn't hold up a short one, and
two workers never write the same export. A new export wakes it at once (LISTEN); a poll every
`exporter_poll_seconds` catches anything a lost connection missed. All progress lives in the
export's stream and tables, so a restarted exporter carries on where the last one stopped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from microblog_shared.runtime.db import listen
from microblog_shared.runtime.status import Monitor, Rate
from microblog_shared.write.eventstore import ConcurrencyError
from posts import handlers
from posts.adapters import exports as export_tables
from posts.adapters.store import PostsEventStore
from posts.settings import PostsSettings

log = logging.getLogger(__name__)


class Exporter:
    def __init__(self, store: PostsEventStore, chunk_size: int, poll_seconds: float) -> None:
        self.store = store
        self.chunk_size = chunk_size
        self.poll_seconds = poll_seconds
        self.chunks_written = 0
        self._wake = asyncio.Event()

    @property
    def engine(self) -> AsyncEngine:
        return self.store.engine

    async def work_once(self) -> int:
        """One round: a chunk of every unfinished export this worker could claim; how many were written."""
        written = 0
        for task_id in await export_tables.unfinished(self.engine):
            async with export_tables.claimed(self.engine, task_id) as mine:
                if not mine:
                    continue  # another exporter is on it
                try:
                    appended = await handlers.advance_export(self.store, task_id, self.chunk_size)
                except ConcurrencyError:
                    continue  # moved on by another exporter between its claim and ours: nothing written
                written += bool(appended)  # nothing when another exporter completed it since the listing
        self.chunks_written += written
        return written

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, idle between rounds until a new export or the next poll."""
        listener = asyncio.create_task(listen(self.engine, export_tables.REQUESTED_CHANNEL, self._woken))
        try:
            while not stop.is_set():
                self._wake.clear()  # before the round: a NOTIFY during it means "go again"
                try:
                    if await self.work_once():
                        continue
                except Exception:
                    log.exception("exporting failed; retrying")
                await _first_of(stop, self._wake, self.poll_seconds)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _woken(self) -> None:
        self._wake.set()


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


class ExporterMonitor(Monitor):
    """What `/status` shows of an exporter: the exports waiting and how fast this worker writes chunks."""

    every = 5.0

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        self._rate = Rate()

    async def refresh(self) -> dict:
        async with self.exporter.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT count(*) AS n, min(requested_at) AS oldest FROM exports WHERE completed_at IS NULL")
                )
            ).one()
        waited = (datetime.now(UTC) - row.oldest).total_seconds() if row.oldest else 0.0
        return {
            "kind": "exporter",
            "unfinished": row.n,
            "oldest_unfinished_seconds": round(waited, 1),
            "chunk_size": self.exporter.chunk_size,
            "chunks_written": self.exporter.chunks_written,
            "chunks_per_second": self._rate.add(self.exporter.chunks_written),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


async def run_exporter(settings: PostsSettings, stop: asyncio.Event, app: FastAPI) -> None:
    """The `exporter` worker of the posts service (`python -m posts exporter`)."""
    from microblog_shared.runtime.db import create_engine

    engine = create_engine(settings.database_url, pool_size=3)
    try:
        exporter = Exporter(
            PostsEventStore(engine, settings.service_name), settings.export_chunk_size, settings.exporter_poll_seconds
        )
        app.state.monitor = ExporterMonitor(exporter)
        await asyncio.gather(exporter.run(stop), app.state.monitor.run(stop))
    finally:
        await engine.dispose()
