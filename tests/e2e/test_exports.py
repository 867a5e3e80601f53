"""Exporting your posts through the gateway: a background task with progress, one at a time, yours only."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from microblog_ops.stackfile import Stack
from microblog_shared.http.auth import caller_headers

pytestmark = pytest.mark.e2e


def completed(person, task_id: str, timeout: float = 20.0) -> tuple[dict, list[int]]:
    """The task once complete, and every progress figure seen on the way."""
    deadline, seen = time.monotonic() + timeout, []
    while True:
        task = person.get(f"/api/tasks/{task_id}")
        assert task.status_code == 200, task.text
        seen.append(task.json()["progress"])
        if task.json()["complete"]:
            return task.json(), seen
        assert time.monotonic() < deadline, f"the export was still at {seen[-1]} % after {timeout} s"
        time.sleep(0.02)


def test_an_export_runs_in_the_background_to_100_percent_and_its_file_holds_the_posts(stack, person, report):
    author = person("exporter")
    bodies = ["my first post", "my second post", "my third post"]
    for body in bodies:
        assert author.post(body).status_code == 201
    started = time.perf_counter()
    answer = author.send("POST", "/api/exports")
    assert answer.status_code == 202, answer.text
    task = answer.json()
    assert uuid.UUID(task["id"]) and answer.headers["X-Consistency-Token"].startswith("posts.exports:export-")
    assert {k: task[k] for k in ("name", "description", "complete")} == {
        "name": "export_posts",
        "description": "Exporting posts...",
        "complete": False,
    }
    assert 0 <= task["progress"] <= 100

    done, seen = completed(author, task["id"])
    seconds = time.perf_counter() - started
    assert done == {**task, "progress": 100, "complete": True}
    assert seen == sorted(seen)  # progress never goes back
    report(f"export of 3 posts through the gateway: POST to complete in {seconds * 1000:.0f} ms")

    if stack.stack_file is not None:  # the file the notifier mails, from posts' internal API
        posts_api = Stack.read(stack.stack_file).process("posts-api")
        signed = caller_headers(author.id, None, posts_api.env["MICROBLOG_INTERNAL_SECRET"])  # as the mailer asks
        file = httpx.get(f"{posts_api.url}/exports/{task['id']}/file", headers=signed)
        assert file.status_code == 200, file.text
        assert [p["body"] for p in file.json()["posts"]] == bodies


def test_a_second_export_is_409_while_the_first_runs(client, person):
    author = person("twice")
    author.post("something to export")
    with ThreadPoolExecutor(5) as pool:  # at once: the exporter can't finish one between them
        answers = list(pool.map(lambda _: client.post("/api/exports", headers=author.headers), range(5)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 202 and 409 in statuses and set(statuses) <= {202, 409}, statuses
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json() == {"error": "Conflict", "message": "an export of your posts is already running"}
    for accepted in (a for a in answers if a.status_code == 202):
        completed(author, accepted.json()["id"])
    assert author.send("POST", "/api/exports").status_code == 202  # done: another may start


def test_a_task_is_its_owner_s_only_and_bad_requests_are_4xx_json(client, person):
    owner, other = person("owner"), person("other")
    task = owner.send("POST", "/api/exports").json()
    assert other.get(f"/api/tasks/{task['id']}").status_code == 404
    assert owner.get(f"/api/tasks/{task['id']}").status_code == 200
    cases = [
        ("GET", f"/api/tasks/{uuid.uuid4()}", owner.headers, 404),
        ("GET", "/api/tasks/abc", owner.headers, 400),
        ("GET", "/api/tasks/12", owner.headers, 400),
        ("GET", f"/api/tasks/{'f' * 300}", owner.headers, 400),
        ("GET", f"/api/tasks/{task['id']}", {}, 401),
        ("POST", "/api/exports", {}, 401),
        ("POST", "/api/exports", {"Authorization": "Bearer nonsense"}, 401),
    ]
    for method, path, headers, status in cases:
        answer = client.request(method, path, headers=headers)
        assert answer.status_code == status, (method, path, answer.text)
        assert answer.json()["error"]
