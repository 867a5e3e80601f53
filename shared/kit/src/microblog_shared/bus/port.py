"""The EventBus port: a partitioned, durable log with consumer groups.

Two adapters implement it (`postgres` and `kafka`) and pass one contract suite
(`shared/kit/tests/bus/test_bus_contract.py`). Records with the same key always land in the
same partition, so per-key order is kept; consumers commit offsets by hand.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, order=True)
class TopicPartition:
    topic: str
    partition: int


@dataclass(frozen=True)
class Record:
    """What a producer sends: the key chooses the partition."""

    key: str
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    key: str
    value: bytes
    headers: dict[str, str]
    timestamp_ms: int

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


# Called, before any record of them is returned, with the partitions whose read position the
# consumer has just (re)set from the group's committed offsets: newly gained ones on postgres,
# every assigned one after a Kafka rebalance. Projections seek each to the offset they stored
# beside their read model.
AssignmentCallback = Callable[[set[TopicPartition]], Awaitable[None]]


def partition_for(key: str, partitions: int) -> int:
    """Stable partition of a key for the postgres adapter (crc32, independent of PYTHONHASHSEED)."""
    return zlib.crc32(key.encode()) % partitions


class Consumer(Protocol):
    async def start(self) -> None:
        """Join the group and take a share of the topics' partitions."""

    async def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[ConsumedRecord]:
        """Records after the current position of the assigned partitions, waiting up to `timeout`."""

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit the group's next offsets (default: just past every record polled so far)."""

    async def seek(self, partition: TopicPartition, offset: int) -> None:
        """Continue an assigned partition from `offset`."""

    async def seek_to_beginning(self) -> None:
        """Continue every assigned partition from its first record."""

    def assignment(self) -> set[TopicPartition]:
        """Partitions this consumer owns right now."""

    async def stop(self) -> None:
        """Leave the group (without committing) and release the connection."""


class EventBus(Protocol):
    name: str  # "postgres" or "kafka"

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics with the configured partition count (idempotent).

        `publish` and `Consumer.start` call it for their topics, so callers rarely need to.
        """

    async def publish(self, topic: str, records: Sequence[Record]) -> None:
        """Append records durably; returns once every record is acknowledged, in order per key."""

    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        on_assign: AssignmentCallback | None = None,
    ) -> Consumer: ...

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The next offset to be written in each partition (for lag)."""

    async def close(self) -> None:
        """Release connections; safe to call twice."""
