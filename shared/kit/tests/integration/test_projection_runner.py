import asyncio
import os
import random
import signal
import subprocess
import sys
import time

from sqlalchemy import text

from microblog_shared.bus import Record
from microblog_shared.read.projection import ProjectionRunner
from microblog_testkit.counting import SCHEMA, CountingProjection, post_envelope
from microblog_testkit.databases import engine_with


def as_record(envelope) -> Record:
    return Record(key=envelope.stream_id, value=envelope.to_bytes())


async def read_model(engine) -> tuple[list, list]:
    async with engine.connect() as conn:
        applied = (await conn.execute(text("SELECT stream_id, version FROM applied ORDER BY 1, 2"))).all()
        totals = (await conn.execute(text("SELECT * FROM totals ORDER BY author_id"))).all()
    return applied, totals


async def project_until(engine, bus, topic, expected_rows: int, timeout: float = 60) -> None:
    runner = ProjectionRunner(CountingProjection(topic), engine, bus)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    deadline = time.monotonic() + timeout
    while (await count(engine)) < expected_rows:
        assert time.monotonic() < deadline and not task.done(), await count(engine)
        await asyncio.sleep(0.1)
    stop.set()
    await task


async def count(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM applied"))


async def test_duplicates_and_redeliveries_are_applied_once(bus, topic, fresh_database):
    engine = await engine_with(fresh_database("rm"), SCHEMA)
    envelopes = [post_envelope(s, v) for s in range(20) for v in range(1, 6)]
    await bus.publish(topic, [as_record(e) for e in envelopes])
    await bus.publish(topic, [as_record(e) for e in envelopes[:37]])  # a relay that re-sent after a crash
    await project_until(engine, bus, topic, len(envelopes))
    await asyncio.sleep(0.5)
    applied, _ = await read_model(engine)
    assert applied == sorted((e.stream_id, e.stream_version) for e in envelopes)
    await engine.dispose()


async def test_a_poison_event_goes_to_the_dead_letter_topic_and_the_projection_goes_on(bus, topic, fresh_database):
    engine = await engine_with(fresh_database("rm"), SCHEMA)
    good = [post_envelope(s, 1) for s in range(5)]
    await bus.publish(topic, [as_record(good[0]), Record(key="bad", value=b"{not json"), *map(as_record, good[1:])])
    await project_until(engine, bus, topic, 5)
    dead_letters = bus.consumer("inspect", ["deadletter.counting"])
    await dead_letters.start()
    try:
        records = []
        deadline = time.monotonic() + 10
        while not records and time.monotonic() < deadline:
            records = await dead_letters.poll(timeout=0.5)
    finally:
        await dead_letters.stop()
    assert [r.value for r in records] == [b"{not json"]
    assert "ValidationError" in records[0].headers["error"]
    assert records[0].headers["source"].startswith(f'["{topic}"')
    applied, _ = await read_model(engine)
    assert len(applied) == 5
    await engine.dispose()


async def test_a_batch_returns_what_it_applied_and_what_it_set_aside(bus, topic, fresh_database):
    engine = await engine_with(fresh_database("rm"), SCHEMA)
    good = [post_envelope(s, 1) for s in range(3)]
    await bus.publish(
        topic,
        [
            as_record(good[0]),
            Record(key="bad", value=b"{not json"),
            as_record(good[1]),
            as_record(good[0]),
            as_record(good[2]),
        ],
    )  # good[0] twice: applied once
    runner = ProjectionRunner(CountingProjection(topic), engine, bus)
    await runner.consumer.start()
    try:
        records = []
        deadline = time.monotonic() + 30
        while len(records) < 5 and time.monotonic() < deadline:
            records += await runner.consumer.poll(timeout=0.5)
        result = await runner.handle(records)
    finally:
        await runner.consumer.stop()
    assert result is not None and result.applied == 3
    assert [record.value for record, _ in result.dead] == [b"{not json"]
    await engine.dispose()


async def test_sigkilled_projector_loses_nothing_and_doubles_nothing(
    bus, bus_kind, topic, fresh_database, pg, request, report
):
    """A projector in a real subprocess is SIGKILLed mid-stream several times."""
    url = fresh_database("rm")
    engine = await engine_with(url, SCHEMA)
    env = {
        **os.environ,
        "MICROBLOG_DATABASE_URL": url,
        "COUNTING_TOPIC": topic,
        "MICROBLOG_ENVIRONMENT": "test",
        "MICROBLOG_BUS": bus_kind,
        "MICROBLOG_BUS_PARTITIONS": "4",
    }
    if bus_kind == "kafka":
        env["MICROBLOG_KAFKA_BOOTSTRAP"] = request.getfixturevalue("kafka_bootstrap")
        env["MICROBLOG_BUS_NAMESPACE"] = bus.prefix
    else:
        env["MICROBLOG_BUS_DATABASE_URL"] = bus.url

    envelopes = [post_envelope(s, v) for s in range(300) for v in range(1, 11)]  # 3,000 events
    random.Random(7).shuffle(envelopes)
    envelopes.sort(key=lambda e: e.stream_version)  # shuffled across streams, in order within each
    batches = [envelopes[i : i + 300] for i in range(0, len(envelopes), 300)]

    def spawn():
        return subprocess.Popen([sys.executable, "-m", "microblog_testkit.counting"], env=env)

    kills, progress_at_kill = 0, []
    process = spawn()
    try:
        for number, batch in enumerate(batches):
            await bus.publish(topic, [as_record(e) for e in batch])
            if number % 2 == 1:  # let it get going, then kill it mid-stream
                await wait_for_progress(engine, above=max(progress_at_kill, default=0))
                await asyncio.sleep(random.random() * 0.3)
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                progress_at_kill.append(await count(engine))
                process = spawn()
        deadline = time.monotonic() + 120
        while (await count(engine)) < len(envelopes) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # anything doubled late would show up now
    finally:
        process.terminate()
        process.wait(15)

    applied, totals = await read_model(engine)
    assert kills >= 4
    assert len(applied) == len(envelopes), f"lost or doubled: {len(applied)} rows for {len(envelopes)} events"
    assert applied == sorted((e.stream_id, e.stream_version) for e in envelopes)

    replay = await engine_with(fresh_database("replay"), SCHEMA)
    await project_until(replay, bus, topic, len(envelopes))
    assert await read_model(replay) == (applied, totals)
    report(
        f"projection SIGKILL test on {bus_kind}: {kills} kills at {progress_at_kill} applied events, "
        f"{len(envelopes)} events applied exactly once, read model equals a fresh replay"
    )
    await engine.dispose()
    await replay.dispose()


async def wait_for_progress(engine, above: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (await count(engine)) <= above:
        assert time.monotonic() < deadline, "the projector made no progress"
        await asyncio.sleep(0.02)
