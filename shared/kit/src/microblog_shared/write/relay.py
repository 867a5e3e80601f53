"""The outbox relay: publishes a service's appended events to the bus, in order, at least once.

It follows the log in (transaction id, position) order, only as far as every transaction older
than the oldest one still running (`EventStore.read_settled`, ADR 9), and records how far it got
(that pair, and how many events it relayed) in the service's own database after the bus
acknowledged, so a crash between the two re-sends one batch: consumers dedupe by
(stream_id, stream_version).

Several replicas of a relay may run (issue 18): each batch (read the progress, read the log,
publish, record) holds a transaction-level advisory lock named after the relay, so replicas
take turns batch by batch and never publish the same batch twice or out of order. An advisory
lock draws no transaction id, so a replica waiting for its turn holds back no relay's snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from itertools import groupby
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.bus import EventBus, Record
from microblog_shared.events import Envelope, EventRegistry
from microblog_shared.events import registry as default_registry
from microblog_shared.runtime import metrics
from microblog_shared.write.eventstore import APPENDED_CHANNEL, START, EventStore, LogCursor

log = logging.getLogger(__name__)

IDLE_WAIT = 1.0  # seconds between looks when nothing is pending and no NOTIFY comes
# While committed events wait behind an older transaction still running (which may not append,
# so no NOTIFY marks its end), look again soon: after 10 ms, doubling up to a quarter second.
HELD_WAIT, HELD_WAIT_MAX = 0.01, 0.25


class Progress(NamedTuple):
    """How far a relay got: the log cursor of the last event it published, and how many it relayed."""

    cursor: LogCursor
    relayed: int


class OutboxRelay:
    def __init__(
        self, store: EventStore, bus: EventBus, name: str = "bus", registry: EventRegistry = default_registry
    ) -> None:
        self.store = store
        self.engine: AsyncEngine = store.engine
        self.bus = bus
        self.name = name
        self.registry = registry

    async def progress(self, conn: AsyncConnection | None = None) -> Progress:
        if conn is None:
            async with self.engine.connect() as own:
                return await self.progress(own)
        row = (
            await conn.execute(
                text("""SELECT CAST(CAST(xact AS text) AS bigint) AS xact, position, relayed
                        FROM relay_positions WHERE relay = :r"""),
                {"r": self.name},
            )
        ).first()
        return Progress(START, 0) if row is None else Progress(LogCursor(row.xact, row.position), row.relayed)

    async def _record(self, conn: AsyncConnection, cursor: LogCursor, relayed: int) -> None:
        """Move the progress record to `cursor`, `relayed` events further."""
        await conn.execute(
            text("""INSERT INTO relay_positions (relay, xact, position, relayed) VALUES (:r, CAST(:x AS xid8), :p, :n)
                    ON CONFLICT (relay) DO UPDATE SET xact = EXCLUDED.xact, position = EXCLUDED.position,
                        relayed = relay_positions.relayed + EXCLUDED.relayed"""),
            {"r": self.name, "x": str(cursor.xact), "p": cursor.position, "n": relayed},
        )

    async def publish_pending(self, batch: int = 500) -> int:
        """Publish the next batch of settled, unpublished events; returns how many.

        Replicas of this relay wait here for each other's batch to be recorded (or abandoned).
        """
        async with self.engine.begin() as conn:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"relay:{self.name}"}
            )
            after = (await self.progress(conn)).cursor
            settled = await self.store.read_settled(after=after, limit=batch, conn=conn)
            if not settled:
                return 0
            await self._publish([envelope for _, envelope in settled])
            await self._record(conn, settled[-1][0], len(settled))
        metrics.OUTBOX_RELAYED.labels(self.store.producer).inc(len(settled))
        return len(settled)

    async def _publish(self, envelopes: list[Envelope]) -> None:
        # Consecutive runs per topic keep the log's order within every stream.
        for topic, run in groupby(envelopes, key=lambda e: self.registry.contract(e.type).topic):
            if topic is None:
                continue  # private to the service
            records = [
                Record(
                    key=e.stream_id,
                    value=e.to_bytes(),
                    headers={"type": e.type, "event_id": str(e.event_id), "correlation_id": e.correlation_id or ""},
                )
                for e in run
            ]
            await self.bus.publish(topic, records)

    async def backlog(self) -> int:
        """Events appended (committed) but not yet published."""
        events, _ = await self.store.count_after((await self.progress()).cursor)
        return events

    async def _held_back(self) -> bool:
        """Whether committed events wait for an older transaction to end before they can be published."""
        _, held = await self.store.count_after((await self.progress()).cursor)
        return held

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set, waking on NOTIFY from appends (or every second)."""
        if await self.store.transaction_ids_ahead():
            raise RuntimeError(
                "the event store holds transaction ids this PostgreSQL server has not reached (restored from "
                "a logical dump?): run eventstore.RENUMBER_AFTER_RESTORE once (docs/operations.md) before relaying"
            )
        async with self.engine.connect() as listener:
            await listener.execution_options(isolation_level="AUTOCOMMIT")
            await listener.execute(text(f"LISTEN {APPENDED_CHANNEL}"))
            driver = (await listener.get_raw_connection()).driver_connection
            assert driver is not None  # a live connection has its driver's
            held_wait = HELD_WAIT
            while not stop.is_set():
                try:
                    published = await self.publish_pending()
                    held = not published and await self._held_back()
                except Exception:
                    log.exception("relay failed to publish; retrying")
                    await asyncio.sleep(1.0)
                    continue
                if published:
                    log.debug("relayed %d events", published)
                    held_wait = HELD_WAIT
                    continue
                wait = held_wait if held else IDLE_WAIT
                held_wait = min(held_wait * 2, HELD_WAIT_MAX) if held else HELD_WAIT
                async for _ in driver.notifies(timeout=wait, stop_after=1):
                    pass
