"""The exporter worker on real PostgreSQL: chunks, restarts, replicas, wake-ups (fixtures in conftest)."""

import asyncio
import time

from sqlalchemy import text

from microblog_shared.write.eventstore import EventStore
from posts.adapters import exports as export_tables
from posts.exporter import ExporterMonitor

AUTHOR = {"X-User-Id": "7"}


async def write_posts(posts, count: int, headers=AUTHOR) -> list[int]:
    ids = []
    for n in range(count):
        response = await posts.post("/posts", json={"body": f"post number {n}"}, headers=headers)
        ids.append(response.json()["id"])
    return ids


async def start(posts, headers=AUTHOR) -> str:
    response = await posts.post("/exports", headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def task(posts, task_id, headers=AUTHOR) -> dict:
    return (await posts.get(f"/tasks/{task_id}", headers=headers)).json()


async def exported_ids(posts, task_id) -> list[int]:
    async with posts.app.state.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT post_id FROM exported_posts WHERE task_id = :t ORDER BY post_id"), {"t": task_id}
        )
        return [row.post_id for row in rows]


async def events(posts, task_id) -> list:
    return await EventStore(posts.app.state.engine, "posts").read_stream(f"export-{task_id}")


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_an_export_advances_a_chunk_at_a_time_then_completes(posts, exporter):
    ids = await write_posts(posts, 7)
    task_id = await start(posts)
    worker = exporter(chunk_size=3)
    progress = []
    while await worker.work_once():
        progress.append((await task(posts, task_id))["progress"])
    assert progress == [42, 85, 100]
    written = await events(posts, task_id)
    assert [e.type for e in written] == [
        "ExportRequested",
        "ExportProgressed",
        "ExportProgressed",
        "ExportProgressed",
        "ExportCompleted",
    ]
    assert [e.payload["after_post_id"] for e in written[1:4]] == [ids[2], ids[5], ids[6]]
    assert written[-1].payload["post_count"] == 7
    assert await exported_ids(posts, task_id) == ids
    assert await task(posts, task_id) == {
        "id": task_id,
        "name": "export_posts",
        "description": "Exporting posts...",
        "progress": 100,
        "complete": True,
    }


async def test_a_killed_exporter_is_resumed_by_the_next_with_no_post_missing_or_doubled(posts, exporter):
    ids = await write_posts(posts, 12)
    task_id = await start(posts)
    for _ in range(3):  # kill three workers, each after it wrote at least one more chunk
        before = (await task(posts, task_id))["progress"]
        stop = asyncio.Event()
        running = asyncio.create_task(exporter(chunk_size=2, poll_seconds=0.01).run(stop))

        async def moved(before: int = before) -> bool:
            return (await task(posts, task_id))["progress"] > before

        await until(moved)
        running.cancel()  # wherever it is: between chunks, or inside an append's transaction
        await asyncio.gather(running, return_exceptions=True)
    assert not (await task(posts, task_id))["complete"]
    while await exporter(chunk_size=2).work_once():
        pass
    assert (await task(posts, task_id))["complete"]
    assert await exported_ids(posts, task_id) == ids
    resumed_at = [e.payload["after_post_id"] for e in await events(posts, task_id) if e.type == "ExportProgressed"]
    assert resumed_at == ids[1::2]


async def test_a_chunk_whose_append_fails_writes_nothing_and_is_written_again(posts, exporter, monkeypatch):
    ids = await write_posts(posts, 3)
    task_id = await start(posts)
    record = export_tables.record

    def crashing(events, chunk=()):
        update = record(events, chunk)

        async def crash_after_writing(conn):
            await update(conn)  # the rows are in the transaction...
            raise ConnectionError("the exporter died")  # ...which never commits

        return crash_after_writing

    monkeypatch.setattr(export_tables, "record", crashing)
    worker = exporter(chunk_size=2)
    try:
        await worker.work_once()
    except ConnectionError:
        pass
    assert await exported_ids(posts, task_id) == [] and len(await events(posts, task_id)) == 1
    monkeypatch.setattr(export_tables, "record", record)
    while await worker.work_once():
        pass
    assert await exported_ids(posts, task_id) == ids


async def test_replicas_share_exports_and_never_work_the_same_one(posts, exporter):
    authors = [{"X-User-Id": str(user)} for user in range(20, 26)]
    posted = {a["X-User-Id"]: await write_posts(posts, 5, a) for a in authors}
    tasks = {a["X-User-Id"]: await start(posts, a) for a in authors}
    stop = asyncio.Event()
    replicas = [exporter(chunk_size=1, poll_seconds=0.01) for _ in range(3)]
    running = [asyncio.create_task(replica.run(stop)) for replica in replicas]

    async def all_complete() -> bool:
        return all([(await task(posts, t, {"X-User-Id": u}))["complete"] for u, t in tasks.items()])

    await until(all_complete, timeout=30)
    stop.set()
    await asyncio.gather(*running)
    for user, task_id in tasks.items():
        assert await exported_ids(posts, task_id) == posted[user]
        versions = [e.stream_version for e in await events(posts, task_id)]
        assert versions == list(range(1, 8))  # requested, 5 chunks, completed: nothing lost or twice
    assert sum(replica.chunks_written for replica in replicas) == 6 * 6
    assert sum(1 for replica in replicas if replica.chunks_written) > 1


async def test_a_claimed_export_is_left_to_the_exporter_holding_it(posts, exporter):
    await write_posts(posts, 2)
    task_id = await start(posts)
    async with export_tables.claimed(posts.app.state.engine, task_id) as mine:
        assert mine
        assert await exporter().work_once() == 0
    assert await exporter().work_once() == 1


async def test_an_idle_exporter_is_woken_by_a_new_export_at_once(posts, exporter, report):
    await write_posts(posts, 3)
    stop = asyncio.Event()
    worker = exporter(poll_seconds=60)  # without the wake-up this test would time out
    running = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.2)  # idle: listening
    started = time.perf_counter()
    task_id = await start(posts)
    accepted = time.perf_counter() - started

    async def complete() -> bool:
        return (await task(posts, task_id))["complete"]

    await until(complete, timeout=5)
    seconds = time.perf_counter() - started
    stop.set()
    await running
    report(
        f"exporter: POST /exports to complete (3 posts, idle worker woken by NOTIFY) in {seconds * 1000:.0f} ms "
        f"(the POST itself {accepted * 1000:.0f} ms)"
    )
    assert seconds < 2


async def test_the_monitor_reports_what_waits(posts, exporter):
    await start(posts)
    worker = exporter(chunk_size=7)
    status = await ExporterMonitor(worker).refresh()
    assert (status["kind"], status["unfinished"], status["chunk_size"]) == ("exporter", 1, 7)
    await worker.work_once()
    assert (await ExporterMonitor(worker).refresh())["unfinished"] == 0
