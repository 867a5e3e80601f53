"""`microblog replay` against a running stack: the timeline is rebuilt and switched while it serves."""

import re
import subprocess
import sys

import pytest


def test_replaying_the_timeline_of_a_running_stack_keeps_every_read_and_write_working(stack, person):
    if stack.stack_file is None:
        pytest.skip("a stack known only by its URL: replay runs inside its containers (see docs/operations.md)")
    alice, bob = person("alice"), person("bob")
    assert bob.send("POST", f"/api/users/{alice.id}/follow").status_code == 204
    for n in range(5):
        assert alice.post(f"before the replay {n}").status_code == 201
    bob.waits_for(alice)  # a write answers at once: bob's read waits for alice's posts (and his follow)
    before = bob.get("/api/timeline").json()["items"]
    assert len(before) == 5

    done = subprocess.run(
        [sys.executable, "-m", "microblog_ops.cli", "replay", "timeline", "--stack", str(stack.stack_file)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"now serving timeline_v\d+", done.stdout), done.stdout

    assert bob.get("/api/timeline").json()["items"] == before
    assert alice.post("after the replay").status_code == 201
    bob.waits_for(alice)
    assert bob.get("/api/timeline").json()["items"][0]["body"] == "after the replay"
