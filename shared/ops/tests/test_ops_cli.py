"""`microblog status` and `microblog dlq` as an operator types them.

The dead-letter library runs on both buses in test_operations.py; here the commands' plumbing
(stack file, settings, ids, exit codes) runs on the postgres bus.
"""

import asyncio
import json
import time

from typer.testing import CliRunner

from microblog_dev.embedded_postgres import free_port
from microblog_ops.cli import app
from microblog_ops.stackfile import Stack, StackProcess
from microblog_shared.bus import Record
from microblog_shared.bus.postgres import PostgresBus
from microblog_testkit.counting import post_envelope


def test_status_exits_non_zero_and_names_the_process_that_is_down(tmp_path):
    stack = tmp_path / "stack.json"
    Stack([StackProcess("posts-api", "posts", "api", f"http://127.0.0.1:{free_port()}")]).write(stack)
    result = CliRunner().invoke(app, ["status", "--stack", str(stack), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    [process] = report["processes"]
    assert (process["name"], process["healthy"], process["ready"]) == ("posts-api", False, False)
    assert process["problem"]


def test_status_refuses_a_missing_stack_file(tmp_path):
    result = CliRunner().invoke(app, ["status", "--stack", str(tmp_path / "nowhere.json")])
    assert result.exit_code == 2
    assert "microblog dev" in result.stdout


async def seed_dead_letters(bus_url: str) -> None:
    bus = PostgresBus(bus_url, partitions=2)
    headers = {
        "error": "Traceback (most recent call last):\n  ...\nValueError: no such author",
        "source": json.dumps(["posts.posts", 1, 7]),
    }
    await bus.publish(
        "deadletter.counting",
        [Record(f"post-{n}", post_envelope(n, 1).to_bytes(), {"type": "PostCreated", **headers}) for n in (1, 2)],
    )
    await bus.close()


async def records_on(bus_url: str, topic: str) -> list:
    bus = PostgresBus(bus_url, partitions=2)
    consumer = bus.consumer(f"check-{time.monotonic_ns()}", [topic])
    await consumer.start()
    try:
        return await consumer.poll(timeout=1.0)
    finally:
        await consumer.stop()
        await bus.close()


def test_dlq_lists_retries_and_drops_with_the_bus_settings_of_the_stack_file(tmp_path, fresh_database):
    bus_url = fresh_database("bus")
    env = {
        "MICROBLOG_BUS": "postgres",
        "MICROBLOG_BUS_DATABASE_URL": bus_url,
        "MICROBLOG_BUS_PARTITIONS": "2",
        "MICROBLOG_ENVIRONMENT": "production",
    }  # no secret: the dlq commands need the bus only
    stack = tmp_path / "stack.json"
    # The projector is not running: the commands still work from its settings.
    Stack([StackProcess("counting-projector", "counting", "projector", f"http://127.0.0.1:{free_port()}", env)]).write(
        stack
    )
    asyncio.run(seed_dead_letters(bus_url))
    cli = CliRunner()

    def dlq(*args: str):
        return cli.invoke(app, ["dlq", *args, "--stack", str(stack)])

    listed = dlq("list", "counting", "--json")
    assert listed.exit_code == 0, listed.stdout
    letters = json.loads(listed.stdout)
    assert [(d["type"], d["stream"], d["error"]) for d in letters] == [
        ("PostCreated", "post-1@1", "ValueError: no such author"),
        ("PostCreated", "post-2@1", "ValueError: no such author"),
    ]
    assert letters[0]["source"] == {"topic": "posts.posts", "partition": 1, "offset": 7}
    table = dlq("list", "counting")
    assert "post-1@1" in table.stdout and "2 pending" in table.stdout

    retried = dlq("retry", "counting", "--offset", letters[0]["id"])
    assert retried.exit_code == 0, retried.stdout
    [republished] = asyncio.run(records_on(bus_url, "posts.posts"))
    assert republished.key == "post-1" and republished.headers["dlq_retry"] == letters[0]["id"]
    assert "error" not in republished.headers and republished.headers["type"] == "PostCreated"

    assert dlq("retry", "counting").exit_code == 2  # neither --all nor --offset
    unknown = dlq("drop", "counting", "--offset", letters[0]["id"])  # handled already
    assert unknown.exit_code == 2 and "not a pending dead letter" in unknown.stdout
    dropped = dlq("drop", "counting", "--all")
    assert dropped.exit_code == 0 and "1 dropped" in dropped.stdout
    assert json.loads(dlq("list", "counting", "--json").stdout) == []
