"""Operating the event log on both buses: dead letters (list, retry, drop), status figures, metrics."""

import asyncio
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from microblog_shared.bus import Record
from microblog_shared.events import PostCreated
from microblog_shared.read.deadletters import DeadLetterQueue, UnknownDeadLetter
from microblog_shared.read.projection import ProjectionRunner
from microblog_shared.runtime.service import ServiceSpec, projector, worker_app
from microblog_shared.runtime.settings import Settings
from microblog_shared.runtime.status import ProjectionMonitor, RelayMonitor
from microblog_shared.write.eventstore import EventStore
from microblog_shared.write.relay import OutboxRelay
from microblog_testkit.counting import SCHEMA, CountingProjection, post_envelope
from microblog_testkit.databases import engine_with


class FlakyCounting(CountingProjection):
    """The counting projection, failing on the streams in `failing` until they are taken out."""

    def __init__(self, topic: str, failing: set[str]) -> None:
        super().__init__(topic)
        self.failing = set(failing)

    async def apply(self, conn, event, envelope) -> None:
        if envelope.stream_id in self.failing:
            raise RuntimeError(f"cannot apply {envelope.stream_id} yet")
        await super().apply(conn, event, envelope)


def as_record(envelope) -> Record:
    return Record(key=envelope.stream_id, value=envelope.to_bytes(), headers={"type": envelope.type})


@asynccontextmanager
async def running(runner: ProjectionRunner):
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await task


async def eventually(check, timeout: float = 30.0):
    """Await `check()` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {check.__name__}"
        await asyncio.sleep(0.1)


async def applied_rows(engine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text("SELECT stream_id, version FROM applied ORDER BY 1, 2"))]


async def test_a_poison_event_is_listed_and_once_fixed_a_retry_applies_it_exactly_once(bus, topic, fresh_database):
    engine = await engine_with(fresh_database("rm"), SCHEMA)
    projection = FlakyCounting(topic, failing={"post-2"})
    queue = DeadLetterQueue(bus, "counting")
    await bus.publish(topic, [as_record(post_envelope(n, 1)) for n in range(1, 5)])
    async with running(ProjectionRunner(projection, engine, bus)):
        [letter] = await eventually(queue.pending)
        described = letter.describe()
        assert described["type"] == "PostCreated" and described["stream"] == "post-2@1"
        assert described["source"]["topic"] == topic
        assert described["error"] == "RuntimeError: cannot apply post-2 yet"
        assert await applied_rows(engine) == [("post-1", 1), ("post-3", 1), ("post-4", 1)]

        projection.failing.clear()  # the bug is fixed
        await queue.retry(await queue.select([letter.id]))

        async def all_four():
            return len(await applied_rows(engine)) == 4

        await eventually(all_four)
        assert await queue.pending() == []
        with pytest.raises(UnknownDeadLetter):
            await queue.select([letter.id])  # handled once, never twice
        await asyncio.sleep(0.5)  # a doubled apply would show up now
    assert await applied_rows(engine) == [("post-1", 1), ("post-2", 1), ("post-3", 1), ("post-4", 1)]
    assert [(m["partition"], m["offset"], m["action"]) for m in await queue.handled()] == [
        (letter.partition, letter.offset, "retry")
    ]
    await engine.dispose()


async def test_a_retry_superseded_by_a_later_version_comes_back_saying_so_and_drop_removes_it(
    bus, topic, fresh_database
):
    engine = await engine_with(fresh_database("rm"), SCHEMA)
    projection = FlakyCounting(topic, failing={"post-5"})
    queue = DeadLetterQueue(bus, "counting")
    async with running(ProjectionRunner(projection, engine, bus)):
        await bus.publish(topic, [as_record(post_envelope(5, 1))])
        [first] = await eventually(queue.pending)
        projection.failing.clear()
        await bus.publish(topic, [as_record(post_envelope(5, 2))])  # the stream moves on past the dead event

        async def version_two():
            return await applied_rows(engine) == [("post-5", 2)]

        await eventually(version_two)
        await queue.retry([first])

        async def dead_again():
            return [letter for letter in await queue.pending() if letter.id != first.id]

        [again] = await eventually(dead_again)
        assert again.describe()["retry_of"] == first.id
        assert again.error.startswith("superseded: retried PostCreated post-5@1")
        assert "applied version 2" in again.error
        assert await applied_rows(engine) == [("post-5", 2)]

        await queue.drop(await queue.select([again.id]))
        assert await queue.pending() == []
    marks = {f"{m['partition']}:{m['offset']}": m["action"] for m in await queue.handled()}
    assert marks == {first.id: "retry", again.id: "drop"}
    await engine.dispose()


def gauge(name: str, **labels) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_projection_status_reports_lag_until_caught_up_and_pending_dead_letters(bus, topic, fresh_database):
    engine = await engine_with(fresh_database("rm"), SCHEMA)
    runner = ProjectionRunner(FlakyCounting(topic, failing={"post-9"}), engine, bus)
    monitor = ProjectionMonitor(runner, bus)
    envelopes = [post_envelope(n, v) for n in range(10) for v in (1, 2, 3)]
    await bus.publish(topic, [as_record(e) for e in envelopes])

    behind = await monitor.refresh()  # nothing applied yet: the whole topic is lag
    assert behind["lag"] == 30 and sum(p["end"] for p in behind["partitions"]) == 30
    assert {p["partition"] for p in behind["partitions"]} == {0, 1, 2, 3}
    assert (
        sum(gauge("microblog_projection_lag", projection="counting", topic=topic, partition=str(p)) for p in range(4))
        == 30
    )
    assert behind["dead_letters_pending"] == 0

    applied_before = gauge("microblog_projection_events_applied_total", projection="counting") or 0
    async with running(runner):

        async def caught_up():
            status = await monitor.refresh()
            return status if status["lag"] == 0 else None

        status = await eventually(caught_up)
    assert sum(p["checkpoint"] for p in status["partitions"]) == 30
    assert status["dead_letters_pending"] == 3  # post-9 at versions 1, 2 and 3
    assert gauge("microblog_projection_dead_letters_pending", projection="counting") == 3
    assert gauge("microblog_projection_events_applied_total", projection="counting") - applied_before == 27

    queue = DeadLetterQueue(bus, "counting")
    await queue.drop(await queue.select(None))
    assert (await monitor.refresh())["dead_letters_pending"] == 0
    await engine.dispose()


async def test_relay_status_reports_the_outbox_backlog_until_relayed(store_engine, bus):
    store = EventStore(store_engine, producer="ops-test")
    for n in range(7):
        await store.append(
            f"post-{n}", 0, [PostCreated(post_id=n, author_id=1, body="b", language="en", created_at=datetime.now(UTC))]
        )
    relay = OutboxRelay(store, bus)
    monitor = RelayMonitor(relay, "ops-test")
    before = await monitor.refresh()
    assert (before["backlog"], before["position"]) == (7, 0)
    assert gauge("microblog_outbox_backlog", service="ops-test") == 7
    relayed_before = gauge("microblog_outbox_relayed_total", service="ops-test") or 0
    while await relay.publish_pending(batch=3):
        pass
    after = await monitor.refresh()
    assert after["backlog"] == 0 and after["position"] > 0
    assert gauge("microblog_outbox_backlog", service="ops-test") == 0
    assert gauge("microblog_outbox_relayed_total", service="ops-test") - relayed_before == 7


async def test_a_projector_process_serves_its_status_and_metrics(bus, bus_kind, topic, fresh_database, request):
    url = fresh_database("rm")
    engine = await engine_with(url, SCHEMA)
    if bus_kind == "kafka":
        where = {"kafka_bootstrap": request.getfixturevalue("kafka_bootstrap"), "bus_namespace": bus.prefix}
    else:
        where = {"bus_database_url": bus.url}
    settings = Settings(
        environment="test", service_name="counting", database_url=url, bus=bus_kind, bus_partitions=4, **where
    )
    spec = ServiceSpec(
        name="counting",
        package="counting",
        settings_class=Settings,
        workers={"projector": projector(lambda _: CountingProjection(topic))},
    )
    app = worker_app(spec, "projector", settings)
    await bus.publish(topic, [as_record(post_envelope(n, 1)) for n in range(12)])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://worker") as client,
    ):

        async def caught_up():
            answer = await client.get("/status")
            return answer.status_code == 200 and answer.json()["lag"] == 0 and answer.json()

        status = await eventually(caught_up, timeout=60)
        assert status["process"] == "counting-projector" and status["projection"] == "counting"
        assert sum(p["end"] for p in status["partitions"]) == 12
        assert status["dead_letters_pending"] == 0
        metrics = (await client.get("/metrics")).text
    for name in (
        "microblog_projection_lag{",
        "microblog_projection_events_applied_total{",
        "microblog_projection_dead_letters_pending{",
        "microblog_http_request_seconds_bucket{",
    ):
        assert name in metrics, name
    await engine.dispose()
