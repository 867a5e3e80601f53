"""`microblog dev` itself: a clean stop leaves no process behind, and a restart keeps the data."""

import time

import httpx
import psutil
import pytest

from microblog_testkit.devstack import DevStackProcess, env_url

pytestmark = pytest.mark.skipif(bool(env_url()), reason="starts its own stack; MICROBLOG_E2E_URL names another")


def test_stop_leaves_no_orphans_and_a_restart_finds_every_user_and_post(tmp_path, report):
    data_dir = tmp_path / "data"
    stack = DevStackProcess(data_dir).start()
    with httpx.Client(base_url=stack.url, timeout=15) as client:
        created = client.post(
            "/api/users", json={"username": "kept", "email": "kept@example.com", "password": "a long password"}
        )
        assert created.status_code == 201
        token = client.post("/api/tokens", auth=("kept", "a long password")).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        post = client.post("/api/posts", json={"body": "still here after a restart"}, headers=headers)
        assert post.status_code == 201
        consistency = post.headers["X-Consistency-Token"]
        assert (
            client.get("/api/users/1/posts", headers={**headers, "X-Consistency-Token": consistency}).json()["_meta"][
                "total_items"
            ]
            == 1
        )
    assert len(stack.descendants) >= 9  # PostgreSQL and eight platform processes
    assert stack.stop() == 0
    assert stack.orphans() == []
    first_start = stack.start_seconds

    again = DevStackProcess(data_dir).start()
    try:
        with httpx.Client(base_url=again.url, timeout=15) as client:
            page = client.get("/api/users/1/posts", headers=headers)  # the old token: the secret was kept
            assert page.status_code == 200
            assert [p["body"] for p in page.json()["items"]] == ["still here after a restart"]
            assert client.post("/api/tokens", auth=("kept", "a long password")).status_code == 200
    finally:
        assert again.stop() == 0
    assert again.orphans() == []
    report(f"microblog dev start-up: {first_start:.1f} s on a fresh data dir, {again.start_seconds:.1f} s on restart")


def test_a_crashed_process_is_restarted(tmp_path):
    stack = DevStackProcess(tmp_path / "data").start()
    try:
        projector = next(p for p in stack.descendants if "timeline projector" in command_of(p))
        projector.kill()
        deadline = time.monotonic() + 60
        while True:
            alive = [
                p
                for p in psutil.Process(stack.process.pid).children(recursive=True)
                if "timeline projector" in command_of(p) and p.pid != projector.pid
            ]
            if alive and httpx.get(f"{stack.url}/readyz", timeout=2).status_code == 200:
                break
            assert time.monotonic() < deadline, stack.logs()
            time.sleep(0.2)
        assert "exited with code" in stack.logs(200)
    finally:
        assert stack.stop() == 0


def command_of(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # gone, or a zombie not reaped yet
        return ""
