"""What a worker reports on /status and /metrics: a projection's position and lag, a relay's backlog.

A monitor refreshes its figures every few seconds (a handful of cheap queries: the stored
checkpoints, the bus's end offsets, the outbox head) and on every /status request. Everything a
projector reports comes from state its replicas share, so any replica answers for the projection.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from microblog_shared.bus import EventBus, TopicPartition
from microblog_shared.read.deadletters import DeadLetterQueue
from microblog_shared.read.projection import ProjectionRunner
from microblog_shared.runtime import metrics
from microblog_shared.write.relay import OutboxRelay

log = logging.getLogger(__name__)


class Rate:
    """Units per second over roughly the last `window` seconds, from samples of a running total."""

    def __init__(self, window: float = 15.0) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, total: int) -> float:
        now = time.monotonic()
        self.samples.append((now, total))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window:
            self.samples.popleft()
        (first_at, first), (last_at, last) = self.samples[0], self.samples[-1]
        return round((last - first) / (last_at - first_at), 1) if last_at > first_at else 0.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Monitor:
    every = 5.0

    async def refresh(self) -> dict[str, Any]:
        raise NotImplementedError

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh until `stop` is set; a failed refresh is logged, never fatal to the worker."""
        while not stop.is_set():
            try:
                # Bounded: a bus that stopped answering must not hold up the worker's shutdown.
                await asyncio.wait_for(self.refresh(), timeout=max(10.0, 2 * self.every))
            except Exception:
                log.warning("%s could not refresh its figures", type(self).__name__, exc_info=True)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)


async def partitions_of(bus: EventBus, topics: list[str], group: str) -> dict[str, list[TopicPartition]]:
    """Every partition of `topics` (the port has no call for it: a lone group member owns them all)."""
    consumer = bus.consumer(group, topics)
    await consumer.start()
    try:
        owned = sorted(consumer.assignment())
    finally:
        await consumer.stop()
    return {topic: [tp for tp in owned if tp.topic == topic] for topic in topics}


class ProjectionMonitor(Monitor):
    """Lag per partition, events/s and pending dead letters of a projection runner.

    Partitions are looked up once (a restart picks up partitions added since); pending dead
    letters are letters written minus letters handled, from end offsets (deadletters.py).
    """

    def __init__(self, runner: ProjectionRunner, bus: EventBus) -> None:
        self.runner = runner
        self.bus = bus
        self.name = runner.projection.name
        self.dead_letters = DeadLetterQueue(bus, self.name)
        self._partitions: dict[str, list[TopicPartition]] | None = None
        self._rate = Rate()

    async def _topic_partitions(self) -> dict[str, list[TopicPartition]]:
        if self._partitions is None:
            topics = [*self.runner.projection.topics, self.dead_letters.topic, self.dead_letters.handled_topic]
            self._partitions = await partitions_of(self.bus, topics, f"status.{self.name}.{uuid.uuid4().hex[:12]}")
        return self._partitions

    async def refresh(self) -> dict[str, Any]:
        partitions_of_topics = await self._topic_partitions()
        dead, handled = (partitions_of_topics[t] for t in (self.dead_letters.topic, self.dead_letters.handled_topic))
        checkpoints = await self.runner.checkpoints()
        known = set(checkpoints) | {tp for t in self.runner.projection.topics for tp in partitions_of_topics[t]}
        ends = await self.bus.end_offsets([*sorted(known), *dead, *handled])
        pending = sum(ends[tp] for tp in dead) - sum(ends[tp] for tp in handled)
        partitions = []
        for tp in sorted(known):
            checkpoint, end = checkpoints.get(tp, 0), ends.get(tp, 0)
            lag = max(0, end - checkpoint)
            metrics.LAG.labels(self.name, tp.topic, str(tp.partition)).set(lag)
            partitions.append(
                {"topic": tp.topic, "partition": tp.partition, "checkpoint": checkpoint, "end": end, "lag": lag}
            )
        metrics.DEAD_LETTERS_PENDING.labels(self.name).set(pending)
        return {
            "kind": "projector",
            "projection": self.name,
            "group": self.runner.group,
            "lag": sum(p["lag"] for p in partitions),
            "events_per_second": self._rate.add(sum(checkpoints.values())),
            "dead_letters_pending": pending,
            "dead_letter_topic": self.dead_letters.topic,
            "assigned": [f"{tp.topic}[{tp.partition}]" for tp in sorted(self.runner.consumer.assignment())],
            "partitions": partitions,
            "at": _now(),
        }


class RelayMonitor(Monitor):
    """The outbox backlog and relayed position of a service's relay."""

    every = 2.0

    def __init__(self, relay: OutboxRelay, service: str) -> None:
        self.relay = relay
        self.service = service
        self._rate = Rate()

    async def refresh(self) -> dict[str, Any]:
        progress = await self.relay.progress()
        backlog = await self.relay.backlog()
        metrics.OUTBOX_BACKLOG.labels(self.service).set(backlog)
        return {
            "kind": "relay",
            "service": self.service,
            "position": progress.cursor.position,  # of the last event relayed (the log is in transaction order)
            "transaction": progress.cursor.xact,
            "relayed": progress.relayed,
            "backlog": backlog,
            "events_per_second": self._rate.add(progress.relayed),
            "at": _now(),
        }
