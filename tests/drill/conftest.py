"""The fault drill runs against a compose stack only: `MICROBLOG_COMPOSE` names its command.

    MICROBLOG_COMPOSE="docker compose -p microblog-ci -f docker-compose.yml -f deploy/compose/ci.yml" \
    MICROBLOG_E2E_URL=http://127.0.0.1:8000 uv run pytest tests/drill

(`deploy/ci/compose_stage.sh` runs it after the e2e suite.) It is not in the default test paths:
it kills the stack's containers.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time

import pytest


def _healthy(container: str) -> bool:
    state = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", container],
        capture_output=True,
        text=True,
    ).stdout.split()
    return state[:1] == ["running"] and state[1:] in ([], ["healthy"])


class Compose:
    def __init__(self, command: list[str]) -> None:
        self.command = command

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        done = subprocess.run([*self.command, *args], capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    def containers(self, service: str) -> list[str]:
        return self.run("ps", "-q", service).split()

    def kill(self, service: str) -> int:
        """SIGKILL the service's container, or one of its replicas (the others serve on); how many it has."""
        containers = self.containers(service)
        subprocess.run(["docker", "kill", "-s", "SIGKILL", containers[0]], check=True, capture_output=True)
        return len(containers)

    def start(self, service: str) -> None:
        self.run("start", service)

    def wait_healthy(self, service: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(_healthy(container) for container in self.containers(service)):
                return
            time.sleep(1)
        raise TimeoutError(f"{service} did not become healthy in {timeout} s")

    def sql(self, database: str, query: str) -> list[list[str]]:
        out = self.run(
            "exec",
            "-T",
            "postgres",
            "psql",
            "-U",
            "microblog",
            "-d",
            database,
            "-AtX",
            "-F",
            "\t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            query,
        )
        return [line.split("\t") for line in out.splitlines() if line]

    def status(self) -> dict:
        """`microblog status --json` from inside the network (non-zero exit while something is down)."""
        return json.loads(self.run("exec", "-T", "gateway-api", "microblog", "status", "--json", check=False))


@pytest.fixture(scope="session")
def compose() -> Compose:
    command = os.environ.get("MICROBLOG_COMPOSE")
    if not command or not os.environ.get("MICROBLOG_E2E_URL"):
        pytest.fail(
            "the fault drill needs a compose stack: set MICROBLOG_COMPOSE and MICROBLOG_E2E_URL "
            "(deploy/ci/compose_stage.sh does)"
        )
    return Compose(shlex.split(command))


@pytest.fixture(scope="session")
def gateway() -> str:
    return os.environ["MICROBLOG_E2E_URL"].rstrip("/")
