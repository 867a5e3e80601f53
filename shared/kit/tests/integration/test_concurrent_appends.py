"""Appends from two OS processes commit out of order; the relay publishes each event once, each stream in order.

Issue 18, BRIEF §7: no append lock any more, so positions (and transaction ids) commit out of
order. One writer process holds a transaction open after its insert until later transactions
of both processes have committed; the running relays must not pass it meanwhile. Two replicas
of the relay (each with its own engine and bus client) take turns: both publish, nothing twice.
"""

import asyncio
import json
import sys
import time
from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from microblog_shared.events import Envelope
from microblog_shared.write.eventstore import EventStore
from microblog_shared.write.relay import OutboxRelay

WRITERS, APPENDS = 8, 25  # per process


class CountingRelay(OutboxRelay):
    """A relay replica that counts the events it published itself."""

    published = 0

    async def _publish(self, envelopes: list[Envelope]) -> None:
        await super()._publish(envelopes)
        self.published += len(envelopes)


async def appenders(url: str, name: str, slow: bool = False) -> asyncio.subprocess.Process:
    command = [sys.executable, "-m", "microblog_testkit.appenders", url, name]
    command += ["--writers", str(WRITERS), "--appends", str(APPENDS), *(["--slow"] if slow else [])]
    return await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)


async def lines(process: asyncio.subprocess.Process, into: list[dict], slow_open: asyncio.Event) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        into.append(json.loads(line))
        if "slow" in into[-1]:
            slow_open.set()
    assert await process.wait() == 0


async def consume(bus, expected: int) -> list[Envelope]:
    consumer = bus.consumer("check", ["posts.posts"])
    await consumer.start()
    got: list[Envelope] = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < expected and time.monotonic() < deadline:
            got.extend(Envelope.from_bytes(r.value) for r in await consumer.poll(timeout=0.5))
        got.extend(Envelope.from_bytes(r.value) for r in await consumer.poll(timeout=1.0))  # nothing more comes
    finally:
        await consumer.stop()
    return got


async def test_out_of_order_commits_from_two_processes_are_relayed_once_each_in_stream_order(
    store_engine, bus, bus_factory
):
    url = store_engine.url.render_as_string(hide_password=False)
    store = EventStore(store_engine, producer="appenders")
    relay = CountingRelay(store, bus)
    replica_engine = create_async_engine(url)
    replica = CountingRelay(EventStore(replica_engine, producer="appenders"), await bus_factory())
    stop = asyncio.Event()
    relaying = asyncio.gather(relay.run(stop), replica.run(stop))
    said: list[dict] = []
    slow_open = asyncio.Event()
    first, second = await appenders(url, "one", slow=True), await appenders(url, "two")
    reading = asyncio.gather(lines(first, said, slow_open), lines(second, said, asyncio.Event()))

    await asyncio.wait_for(slow_open.wait(), 30)
    (slow,) = [line["slow"] for line in said if "slow" in line]
    passed_while_open, later_commits, top_while_open = [], 0, 0
    async with store_engine.connect() as conn:
        while True:
            progress = await relay.progress()
            # pg_xact_status looks now: still in progress means it was when the progress was read.
            row = (
                await conn.execute(
                    text("""SELECT pg_xact_status(CAST(CAST(:x AS text) AS xid8)) AS status,
                                   (SELECT count(*) FROM events WHERE xact > CAST(CAST(:x AS text) AS xid8)) AS later,
                                   (SELECT coalesce(max(position), 0) FROM events) AS top"""),
                    {"x": slow},
                )
            ).one()
            await conn.rollback()
            if row.status != "in progress":
                break
            if progress.cursor.xact >= slow:
                passed_while_open.append(progress)
            later_commits, top_while_open = row.later, row.top
            await asyncio.sleep(0.01)
    await reading
    total = sum(line["appended"] for line in said if "appended" in line)
    assert total == 2 * WRITERS * APPENDS + 1

    deadline = time.monotonic() + 60
    while await relay.backlog() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await relaying
    await replica_engine.dispose()

    assert passed_while_open == [], "the relay went past a transaction that was still running"
    assert later_commits > 0, "later transactions committed while the slow one was open"
    (slow_event,) = [e for e in await store.read_all(limit=10_000) if e.stream_id == "slow-one"]
    assert slow_event.position < top_while_open, "a reader at 'position > last seen' would have skipped it"

    got = await consume(bus, total)
    stored = await store.read_all(limit=10_000)
    assert len(got) == total == len(stored)
    assert {e.event_id for e in got} == {e.event_id for e in stored}  # each event once, none missing
    versions: dict[str, list[int]] = defaultdict(list)
    for envelope in got:
        versions[envelope.stream_id].append(envelope.stream_version)
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in versions.values()), versions
    assert len(versions) > 2  # the shared streams and the slow one
    progress = await relay.progress()
    assert (progress.relayed, await relay.backlog()) == (total, 0)
    assert relay.published > 0 and replica.published > 0, "both replicas took turns"
    assert relay.published + replica.published == total
