"""`microblog status` and `microblog dlq` against a running `microblog dev`, as an operator runs them."""

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from microblog_ops.commands import bus_settings
from microblog_ops.layout import SERVICES
from microblog_ops.stackfile import Stack, process_name
from microblog_shared.bus import Record, create_bus

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack_file(stack) -> Path:
    """The stack file of the running `microblog dev` (its processes' URLs and settings)."""
    if stack.stack_file is None:
        pytest.skip(
            "a stack given by MICROBLOG_E2E_URL has no stack file: in compose, run `microblog status` "
            "in a container on its network"
        )
    return stack.stack_file


def microblog(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microblog_ops.cli", *args], capture_output=True, text=True, timeout=120
    )


def status_when(stack_file: Path, ready, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        result = microblog("status", "--stack", str(stack_file), "--json")
        status = json.loads(result.stdout)
        if ready(status):
            assert result.returncode == 0, result.stderr
            return status
        assert time.monotonic() < deadline, result.stdout
        time.sleep(0.5)


def caught_up(status: dict) -> bool:
    return (
        status["ok"]
        and all(p["lag"] == 0 for p in status["projections"])
        and all(o["backlog"] == 0 for o in status["outboxes"])
    )


def timeline_of(status: dict) -> dict | None:
    return next((p for p in status["projections"] if p["projection"] == "timeline"), None)


def test_status_sees_every_process_healthy_and_the_platform_caught_up(stack_file, person, report):
    author = person("ops")
    assert author.post("what does the operator see?").status_code == 201
    started = time.monotonic()
    status = status_when(stack_file, caught_up)
    seconds = time.monotonic() - started

    expected = {process_name(s.package, c) for s in SERVICES for c in s.commands}
    assert {p["name"] for p in status["processes"]} == expected
    assert all(p["healthy"] and p["ready"] and p["latency_ms"] is not None for p in status["processes"])
    projections = {p["projection"]: p for p in status["projections"]}
    assert set(projections) == {s.package.replace("_", "-") for s in SERVICES if "projector" in s.commands}
    timeline = projections["timeline"]
    assert timeline["process"] == "timeline-projector"
    assert sum(p["checkpoint"] for p in timeline["partitions"]) > 0
    assert {o["service"] for o in status["outboxes"]} == {
        s.package.replace("_", "-") for s in SERVICES if "relay" in s.commands
    }
    assert all(o["position"] > 0 for o in status["outboxes"] if o["service"] in ("identity", "posts"))

    table = microblog("status", "--stack", str(stack_file))
    assert table.returncode == 0, table.stdout
    assert f"all {len(expected)} processes healthy and ready" in table.stdout
    report(
        f"microblog status on the {status['bus']} bus: caught up and all healthy after {seconds:.1f} s "
        f"(slowest readiness check {max(p['latency_ms'] for p in status['processes']):.0f} ms)"
    )


async def publish_poison(stack_file: Path) -> None:
    bus = create_bus(bus_settings(Stack.read(stack_file).process("timeline-projector").env))
    try:
        await bus.publish("posts.posts", [Record("post-poison", b"{not an event")])
    finally:
        await bus.close()


def test_a_poison_event_shows_in_status_and_dlq_list_until_dropped(stack_file):
    asyncio.run(publish_poison(stack_file))
    status = status_when(stack_file, lambda s: timeline_of(s) and timeline_of(s)["dead_letters_pending"])
    assert timeline_of(status)["dead_letters_pending"] == 1

    listed = microblog("dlq", "list", "timeline", "--stack", str(stack_file), "--json")
    assert listed.returncode == 0, listed.stderr
    [letter] = json.loads(listed.stdout)
    assert letter["source"]["topic"] == "posts.posts" and letter["stream"] == "post-poison"
    assert "ValidationError" in letter["error"]

    dropped = microblog("dlq", "drop", "timeline", "--offset", letter["id"], "--stack", str(stack_file))
    assert dropped.returncode == 0, dropped.stdout
    assert json.loads(microblog("dlq", "list", "timeline", "--stack", str(stack_file), "--json").stdout) == []
    status_when(stack_file, lambda s: caught_up(s) and timeline_of(s)["dead_letters_pending"] == 0)
