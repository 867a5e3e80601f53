"""One contract for every EventBus adapter: the same tests run on `postgres` and `kafka`."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from microblog_shared.bus.port import ConsumedRecord, Consumer, Record, TopicPartition

PARTITIONS = 4


async def drain(consumer: Consumer, expected: int, timeout: float = 30.0) -> list[ConsumedRecord]:
    """Poll until `expected` records arrived (or fail after `timeout`)."""
    got: list[ConsumedRecord] = []
    deadline = time.monotonic() + timeout
    while len(got) < expected:
        assert time.monotonic() < deadline, f"only {len(got)} of {expected} records arrived"
        got.extend(await consumer.poll(max_records=1000, timeout=0.5))
    return got


async def assert_quiet(consumer: Consumer, seconds: float = 1.5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        extra = await consumer.poll(timeout=0.3)
        assert extra == [], f"unexpected records: {[r.value for r in extra]}"


def keyed(n: int, keys: int = 10, prefix: str = "") -> list[Record]:
    return [Record(key=f"k{i % keys}", value=f"{prefix}{i}".encode()) for i in range(n)]


async def test_records_with_one_key_arrive_in_order(bus, topic):
    await bus.publish(topic, keyed(300))
    async with started(bus.consumer("g-order", [topic])) as consumer:
        records = await drain(consumer, 300)
    by_key: dict[str, list[int]] = defaultdict(list)
    partitions_of_key: dict[str, set[int]] = defaultdict(set)
    for record in records:
        by_key[record.key].append(int(record.value))
        partitions_of_key[record.key].add(record.partition)
    assert len(by_key) == 10
    for key, values in by_key.items():
        assert values == sorted(values), key
        assert len(partitions_of_key[key]) == 1, key


async def test_uncommitted_records_are_delivered_again_after_a_consumer_dies(bus, topic):
    await bus.publish(topic, [Record(key="same", value=str(i).encode()) for i in range(40)])
    async with started(bus.consumer("g-alo", [topic])) as first:
        records = await drain(first, 40)
        await first.commit({records[0].topic_partition: records[10].offset})
    # `first` died having committed only its first ten records: the rest must come again.
    async with started(bus.consumer("g-alo", [topic])) as second:
        again = await drain(second, 30)
        await assert_quiet(second)
    assert [r.value for r in again] == [str(i).encode() for i in range(10, 40)]


async def test_committed_offsets_survive_a_restart_of_the_bus(bus_factory, topic):
    bus = await bus_factory()
    await bus.publish(topic, keyed(25))
    async with started(bus.consumer("g-restart", [topic])) as consumer:
        await drain(consumer, 25)
        await consumer.commit()
    await bus.close()

    bus = await bus_factory()
    await bus.publish(topic, keyed(5, prefix="1000"))
    async with started(bus.consumer("g-restart", [topic])) as consumer:
        fresh = await drain(consumer, 5)
        await assert_quiet(consumer)
    assert sorted(int(r.value) for r in fresh) == sorted(int(f"1000{i}") for i in range(5))


async def test_two_consumers_in_one_group_share_the_partitions(bus, topic):
    all_partitions = {TopicPartition(topic, p) for p in range(PARTITIONS)}
    async with started(bus.consumer("g-share", [topic])) as a, started(bus.consumer("g-share", [topic])) as b:
        deadline = time.monotonic() + 45

        def settled() -> bool:
            # A member learns that it lost partitions on its next poll: overlap is transient.
            return bool(
                a.assignment()
                and b.assignment()
                and not a.assignment() & b.assignment()
                and a.assignment() | b.assignment() == all_partitions
            )

        while not settled():
            assert time.monotonic() < deadline, (a.assignment(), b.assignment())
            await asyncio.gather(a.poll(timeout=0.2), b.poll(timeout=0.2))

        await bus.publish(topic, keyed(200, keys=50))
        seen: dict[str, list[ConsumedRecord]] = {"a": [], "b": []}
        while len(seen["a"]) + len(seen["b"]) < 200:
            assert time.monotonic() < deadline, (len(seen["a"]), len(seen["b"]))
            batches = await asyncio.gather(a.poll(timeout=0.2), b.poll(timeout=0.2))
            for name, consumer, batch in zip("ab", (a, b), batches):
                assert {r.topic_partition for r in batch} <= consumer.assignment()
                seen[name].extend(batch)
    assert seen["a"] and seen["b"], "both members must have consumed something"
    assert sorted(r.value for r in seen["a"] + seen["b"]) == sorted(r.value for r in keyed(200, keys=50))


async def test_seek_to_beginning_replays_everything(bus, topic):
    await bus.publish(topic, keyed(50))
    async with started(bus.consumer("g-replay", [topic])) as consumer:
        first = await drain(consumer, 50)
        await consumer.commit()
        await consumer.seek_to_beginning()
        replay = await drain(consumer, 50)
    assert sorted(r.value for r in replay) == sorted(r.value for r in first)


async def test_a_consumer_can_seek_one_partition_to_a_stored_offset(bus, topic):
    await bus.publish(topic, [Record(key="same", value=str(i).encode()) for i in range(10)])
    async with started(bus.consumer("g-seek", [topic])) as consumer:
        records = await drain(consumer, 10)
        await consumer.seek(records[0].topic_partition, records[6].offset)
        again = await drain(consumer, 4)
    assert [r.value for r in again] == [b"6", b"7", b"8", b"9"]


async def test_on_assign_runs_before_records_of_a_partition_are_returned(bus, topic):
    await bus.publish(topic, [Record(key="one", value=str(i).encode()) for i in range(10)])
    assigned: list[set[TopicPartition]] = []

    async def skip_first_five(partitions: set[TopicPartition]) -> None:
        assigned.append(set(partitions))
        for tp in partitions:
            await consumer.seek(tp, 5)

    consumer = bus.consumer("g-assign", [topic], on_assign=skip_first_five)
    async with started(consumer):
        records = await drain(consumer, 5)
        await assert_quiet(consumer, 1.0)
    assert assigned and assigned[0] == {TopicPartition(topic, p) for p in range(PARTITIONS)}
    assert [r.value for r in records] == [b"5", b"6", b"7", b"8", b"9"]


async def test_end_offsets_count_the_records_of_each_partition(bus, topic):
    await bus.publish(topic, keyed(30, keys=30))
    ends = await bus.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    assert sum(ends.values()) == 30


async def test_ten_thousand_records_round_trip(bus, topic, report):
    records = [Record(key=f"user-{i % 500}", value=f"{i:05d}".encode(), headers={"n": str(i)}) for i in range(10_000)]
    started_at = time.perf_counter()
    for start in range(0, len(records), 1000):
        await bus.publish(topic, records[start : start + 1000])
    produced_at = time.perf_counter()
    async with started(bus.consumer("g-10k", [topic])) as consumer:
        got = await drain(consumer, 10_000, timeout=120)
        await consumer.commit()
    consumed_at = time.perf_counter()
    assert sorted(r.value for r in got) == sorted(r.value for r in records)
    assert all(r.headers["n"] == r.value.decode().lstrip("0") or r.value == b"00000" for r in got)
    total = consumed_at - started_at
    report(
        f"bus {bus.name}: 10,000 records produced in {produced_at - started_at:.2f} s, "
        f"consumed in {consumed_at - produced_at:.2f} s, {10_000 / total:,.0f} records/s round trip"
    )


# --- helpers ---------------------------------------------------------------------------


class started:
    """`async with started(consumer)`: start, yield, always stop (without committing)."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer

    async def __aenter__(self) -> Consumer:
        await self.consumer.start()
        return self.consumer

    async def __aexit__(self, *exc) -> None:
        await self.consumer.stop()


async def poll_for(consumer: Consumer, seconds: float) -> list[ConsumedRecord]:
    got: list[ConsumedRecord] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got.extend(await consumer.poll(timeout=0.3))
    return got


async def test_consumers_subscribing_to_new_topics_in_any_order_all_start(bus, topic):
    """Consumers whose topic lists name the same new topics in other orders start side by side
    (a projector subscribing beside the replay's `end_offsets`): on the postgres bus they once
    deadlocked creating the topics."""
    topics = [f"{topic}-{n}" for n in range(8)]
    consumers = [bus.consumer(f"g-order-{n}", order) for n, order in enumerate((topics, topics[::-1]) * 2)]
    try:
        await asyncio.gather(*(c.start() for c in consumers))
        ends = await bus.end_offsets([TopicPartition(t, p) for t in topics for p in range(PARTITIONS)])
        assert sum(ends.values()) == 0 and len(ends) == len(topics) * PARTITIONS
    finally:
        await asyncio.gather(*(c.stop() for c in consumers))
