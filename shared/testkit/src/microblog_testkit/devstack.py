"""Start and stop `microblog dev` for the end-to-end tests (when no MICROBLOG_E2E_URL is given)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from microblog_dev.embedded_postgres import free_port

# The gateway's limits, lifted: a suite or a benchmark sends thousands of writes and sign-ins
# from one address. A variable set by the caller (its environment or `env=`) wins over these.
LIFTED_LIMITS = {
    "MICROBLOG_AUTH_ATTEMPTS_PER_MINUTE": "1000000",
    "MICROBLOG_WRITES_PER_ACCOUNT": "1000000",
    "MICROBLOG_WRITES_PER_ADDRESS": "1000000",
    "MICROBLOG_PASSWORD_ATTEMPTS_PER_MINUTE": "1000000",
    "MICROBLOG_PASSWORD_ATTEMPTS_PER_MINUTE_PER_ADDRESS": "1000000",
}


class DevStackProcess:
    def __init__(
        self,
        data_dir: Path,
        bus: str = "postgres",
        kafka_bootstrap: str | None = None,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`env`: settings of the stack's processes, over the environment and the suite's own."""
        self.data_dir = data_dir
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.argv = [
            sys.executable,
            "-m",
            "microblog_ops.cli",
            "dev",
            "--data-dir",
            str(data_dir),
            "--port",
            str(self.port),
            "--web-port",
            str(self.web_port),
            "--bus",
            bus,
            "--raw-logs",
        ]
        if kafka_bootstrap:
            self.argv += ["--kafka-bootstrap", kafka_bootstrap]
        if database_url:
            self.argv += ["--database-url", database_url]
        self.log_path = data_dir.parent / f"{data_dir.name}-dev.log"
        self.process: subprocess.Popen | None = None
        self.descendants: list[psutil.Process] = []
        self.start_seconds = 0.0

    def start(self, timeout: float = 120) -> DevStackProcess:
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={
                    **LIFTED_LIMITS,
                    **os.environ,
                    "MICROBLOG_BUS_NAMESPACE": self.data_dir.name + ".",
                    # the web's badge and export progress: tests don't wait 10 s
                    "MICROBLOG_NOTIFICATION_POLL_SECONDS": "1",
                    **self.env,
                },
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"microblog dev exited early:\n{self.logs()}"
            try:
                if all(httpx.get(f"{url}/readyz", timeout=1).status_code == 200 for url in (self.url, self.web_url)):
                    self.start_seconds = time.monotonic() - started
                    self.descendants = psutil.Process(self.process.pid).children(recursive=True)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"microblog dev was not ready in {timeout} s:\n{self.logs()}")

    def stop(self, timeout: float = 40) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                child.kill()
            self.process.kill()
            raise
        finally:
            self.process = None

    def orphans(self) -> list[str]:
        alive = []
        for child in self.descendants:
            try:
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    alive.append(" ".join(child.cmdline()[:4]))
            except psutil.NoSuchProcess:
                pass
        return alive

    def logs(self, tail: int = 80) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        return "\n".join(lines[-tail:])


def env_url() -> str | None:
    return os.environ.get("MICROBLOG_E2E_URL")


def env_web_url() -> str | None:
    """The web UI of the stack at MICROBLOG_E2E_URL, when there is one."""
    return os.environ.get("MICROBLOG_E2E_WEB_URL")
