"""POST /exports, GET /tasks/{id}, GET /exports/{id}/file on real PostgreSQL (fixtures in conftest)."""

import asyncio
import uuid

import pytest
from sqlalchemy import text

from microblog_shared.write.eventstore import EventStore
from posts.adapters import exports as export_tables

AUTHOR = {"X-User-Id": "7"}
STRANGER = {"X-User-Id": "8"}


async def write(posts, body, headers=AUTHOR) -> int:
    response = await posts.post("/posts", json={"body": body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def start(posts, headers=AUTHOR) -> dict:
    response = await posts.post("/exports", headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


async def test_requesting_an_export_is_202_with_the_task_and_a_token(posts):
    response = await posts.post("/exports", headers=AUTHOR)
    assert response.status_code == 202
    task = response.json()
    uuid.UUID(task.pop("id"))
    assert task == {"name": "export_posts", "description": "Exporting posts...", "progress": 0, "complete": False}
    topic, stream, version = response.headers["X-Consistency-Token"].split(":")
    assert (topic, version) == ("posts.exports", "1") and stream.startswith("export-")


async def test_the_request_counts_the_author_s_live_posts(posts):
    await write(posts, "one")
    gone = await write(posts, "two")
    await write(posts, "someone else's", STRANGER)
    assert (await posts.delete(f"/posts/{gone}", headers=AUTHOR)).status_code == 204
    task = await start(posts)
    (event,) = await EventStore(posts.app.state.engine, "posts").read_stream(f"export-{task['id']}")
    assert (event.type, event.payload["total"], event.payload["user_id"]) == ("ExportRequested", 1, 7)


async def test_a_second_export_is_409_while_the_first_runs_and_fine_once_it_completes(posts, exporter):
    first = await start(posts)
    refused = await posts.post("/exports", headers=AUTHOR)
    assert refused.status_code == 409
    assert refused.json() == {"error": "Conflict", "message": "an export of your posts is already running"}
    assert (await posts.post("/exports", headers=STRANGER)).status_code == 202  # one each, not one in all
    await exporter().work_once()
    assert (await posts.get(f"/tasks/{first['id']}", headers=AUTHOR)).json()["complete"] is True
    assert (await start(posts))["id"] != first["id"]


async def test_concurrent_requests_start_one_export_even_past_the_check(posts, monkeypatch):
    async def nothing_running(engine, user_id):
        return False  # every request passes the check: only the unique index stands in the way

    monkeypatch.setattr(export_tables, "running_for", nothing_running)
    answers = await asyncio.gather(*(posts.post("/exports", headers=AUTHOR) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [202] + [409] * 7
    async with posts.app.state.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM exports")) == 1


async def test_a_task_is_visible_to_its_owner_only(posts):
    task = await start(posts)
    mine = await posts.get(f"/tasks/{task['id']}", headers=AUTHOR)
    assert mine.status_code == 200 and mine.json() == task
    for response in (
        await posts.get(f"/tasks/{task['id']}", headers=STRANGER),
        await posts.get(f"/tasks/{uuid.uuid4()}", headers=AUTHOR),
        await posts.get(f"/exports/{task['id']}/file", headers=STRANGER),
    ):
        assert response.status_code == 404
        assert response.json() == {"error": "Not Found", "message": "export not found"}


@pytest.mark.parametrize("task_id", ["abc", "1", "0b5b6c0e-8d4e-4d3a-9a51", "x" * 300])
async def test_malformed_task_ids_are_400(posts, task_id):
    for path in (f"/tasks/{task_id}", f"/exports/{task_id}/file"):
        response = await posts.get(path, headers=AUTHOR)
        assert response.status_code == 400 and response.json()["error"] == "Bad Request"


async def test_exports_need_a_caller(posts):
    assert (await posts.post("/exports")).status_code == 401
    assert (await posts.get(f"/tasks/{uuid.uuid4()}")).status_code == 401


async def test_the_file_is_409_until_complete_then_the_author_s_posts_oldest_first(posts, exporter):
    first, edited, deleted = [await write(posts, body) for body in ("first post", "draft", "oops")]
    await posts.put(f"/posts/{edited}", json={"body": "second post"}, headers=AUTHOR)
    await posts.delete(f"/posts/{deleted}", headers=AUTHOR)
    await write(posts, "not mine", STRANGER)
    task = await start(posts)
    await write(posts, "written after asking")
    running = await posts.get(f"/exports/{task['id']}/file", headers=AUTHOR)
    assert running.status_code == 409 and running.json()["message"] == "the export is still running"

    await exporter(chunk_size=1).work_once()  # one chunk: still running
    assert (await posts.get(f"/exports/{task['id']}/file", headers=AUTHOR)).status_code == 409
    while await exporter(chunk_size=1).work_once():
        pass
    done = await posts.get(f"/exports/{task['id']}/file", headers=AUTHOR)
    assert done.status_code == 200 and done.headers["content-type"] == "application/json"
    rows = done.json()["posts"]
    assert [(row["id"], row["body"]) for row in rows] == [(first, "first post"), (edited, "second post")]
    assert all(row["timestamp"].endswith("Z") and "language" in row for row in rows)
