"""The outbox relay: publishes a service's appended events to the bus, in order, at least once.

It records how far it got in the service's own database after the bus acknowledged, so a
crash between the two re-sends a few events: consumers dedupe by (stream_id, stream_version).
"""

from __future__ import annotations

import asyncio
import logging
from itertools import groupby

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from microblog_shared.bus import EventBus, Record
from microblog_shared.events import Envelope, EventRegistry
from microblog_shared.events import registry as default_registry
from microblog_shared.runtime import metrics
from microblog_shared.write.eventstore import APPENDED_CHANNEL, EventStore

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self, store: EventStore, bus: EventBus, name: str = "bus", registry: EventRegistry = default_registry
    ) -> None:
        self.store = store
        self.engine: AsyncEngine = store.engine
        self.bus = bus
        self.name = name
        self.registry = registry

    async def position(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(text("SELECT position FROM relay_positions WHERE relay = :r"), {"r": self.name})
            return int(value or 0)

    async def _record(self, position: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text("""INSERT INTO relay_positions (relay, position) VALUES (:r, :p)
                        ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position"""),
                {"r": self.name, "p": position},
            )

    async def publish_pending(self, batch: int = 500) -> int:
        """Publish the next batch of unpublished events; returns how many."""
        after = await self.position()
        envelopes = await self.store.read_all(after=after, limit=batch)
        if not envelopes:
            return 0
        # Consecutive runs per topic keep the store's order within every stream.
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
        await self._record(_position(envelopes[-1]))
        metrics.OUTBOX_RELAYED.labels(self.store.producer).inc(len(envelopes))
        return len(envelopes)

    async def backlog(self) -> int:
        """Events appended but not yet published."""
        async with self.engine.connect() as conn:
            last = int(await conn.scalar(text("SELECT coalesce(max(position), 0) FROM events")))
        return last - await self.position()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set, waking on NOTIFY from appends (or every second)."""
        async with self.engine.connect() as listener:
            await listener.execution_options(isolation_level="AUTOCOMMIT")
            await listener.execute(text(f"LISTEN {APPENDED_CHANNEL}"))
            driver = (await listener.get_raw_connection()).driver_connection
            assert driver is not None  # a live connection has its driver's
            while not stop.is_set():
                try:
                    published = await self.publish_pending()
                except Exception:
                    log.exception("relay failed to publish; retrying")
                    await asyncio.sleep(1.0)
                    continue
                if published:
                    log.debug("relayed %d events", published)
                    continue
                async for _ in driver.notifies(timeout=1.0, stop_after=1):
                    pass


def _position(envelope: Envelope) -> int:
    if envelope.position is None:
        raise ValueError("an envelope read from the store has its position")
    return envelope.position
