"""A bus seen through a name prefix: several platforms (or tests) share one cluster apart.

Topics and consumer groups get the prefix on the way in and lose it on the way out, so code
above the port never sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from microblog_shared.bus.port import AssignmentCallback, ConsumedRecord, Consumer, EventBus, Record, TopicPartition


class NamespacedBus:
    def __init__(self, inner: EventBus, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix
        self.name = inner.name

    def wrap(self, tp: TopicPartition) -> TopicPartition:
        return TopicPartition(self.prefix + tp.topic, tp.partition)

    def unwrap(self, tp: TopicPartition) -> TopicPartition:
        return TopicPartition(tp.topic.removeprefix(self.prefix), tp.partition)

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        await self.inner.ensure_topics([self.prefix + t for t in topics])

    async def publish(self, topic: str, records: Sequence[Record]) -> None:
        await self.inner.publish(self.prefix + topic, records)

    def consumer(self, group: str, topics: Sequence[str], on_assign: AssignmentCallback | None = None) -> Consumer:
        async def assigned(partitions: set[TopicPartition]) -> None:
            if on_assign is not None:
                await on_assign({self.unwrap(tp) for tp in partitions})

        inner = self.inner.consumer(self.prefix + group, [self.prefix + t for t in topics], assigned)
        return NamespacedConsumer(inner, self)

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        ends = await self.inner.end_offsets([self.wrap(tp) for tp in partitions])
        return {self.unwrap(tp): offset for tp, offset in ends.items()}

    async def close(self) -> None:
        await self.inner.close()


class NamespacedConsumer:
    def __init__(self, inner: Consumer, bus: NamespacedBus) -> None:
        self.inner = inner
        self.bus = bus

    async def start(self) -> None:
        await self.inner.start()

    async def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[ConsumedRecord]:
        records = await self.inner.poll(max_records, timeout)
        return [replace(r, topic=r.topic.removeprefix(self.bus.prefix)) for r in records]

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        await self.inner.commit(None if offsets is None else {self.bus.wrap(tp): o for tp, o in offsets.items()})

    async def seek(self, partition: TopicPartition, offset: int) -> None:
        await self.inner.seek(self.bus.wrap(partition), offset)

    async def seek_to_beginning(self) -> None:
        await self.inner.seek_to_beginning()

    def assignment(self) -> set[TopicPartition]:
        return {self.bus.unwrap(tp) for tp in self.inner.assignment()}

    async def stop(self) -> None:
        await self.inner.stop()
