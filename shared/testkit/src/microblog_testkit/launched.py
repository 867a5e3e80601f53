"""Real servers for tests, run by the launchers in `deploy/local/` (Kafka, Elasticsearch).

Every launcher has the same two commands: `fetch` (resolve and cache what the server needs) and
`start --data-dir DIR --watch-stdin [--port N] ...`, which prints `<PREFIX>address` once the
server answers and stops it when its stdin closes, so even a test run killed outright leaves
no server behind.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
import time
from pathlib import Path

from microblog_dev.checkout import repo_root

REPO_ROOT = repo_root()


class LaunchedServer:
    """One server whose data and logs live in `workdir`; `start()` returns its address."""

    name = "server"
    launcher: Path
    prefix: str  # the line the launcher prints when the server is ready: PREFIX + address
    data_folder = "data"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = Path(workdir).resolve()
        self.port = port
        self.process: subprocess.Popen[str] | None = None
        self.address: str | None = None
        self.fetch_seconds = 0.0
        self.start_seconds = 0.0

    def start_arguments(self) -> list[str]:
        """What a subclass adds to the launcher's `start` command."""
        return []

    def start(self, timeout: float = 90.0) -> str:
        """Fetch what the server needs, start it, wait until it answers; `timeout` covers all."""
        began = time.monotonic()
        deadline = began + timeout
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "launcher.log", "ab") as launcher_log:
            try:
                subprocess.run(
                    [sys.executable, str(self.launcher), "fetch"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=launcher_log,
                    timeout=max(1.0, deadline - time.monotonic()),
                    check=True,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
                raise RuntimeError(f"fetching {self.name} failed ({error}); see {launcher_log.name}") from error
            self.fetch_seconds = time.monotonic() - began
            command = [
                sys.executable,
                str(self.launcher),
                "start",
                "--data-dir",
                str(self.workdir / self.data_folder),
                "--watch-stdin",
                "--timeout",
                str(max(1.0, deadline - time.monotonic())),
                *self.start_arguments(),
            ]
            if self.port:
                command += ["--port", str(self.port)]
            # stdin stays open as a lifeline: the launcher stops the server when it reads EOF.
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=launcher_log,
                text=True,
            )
        try:
            self.address = self._wait_for_address(deadline)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self.address

    def _wait_for_address(self, deadline: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self.name} did not start in time; see {self.workdir / 'launcher.log'}")
                if not selector.select(remaining):
                    continue
                line = self.process.stdout.readline()
                if not line:
                    code = self.process.wait()
                    raise RuntimeError(
                        f"the {self.name} launcher exited with {code}; see {self.workdir / 'launcher.log'}"
                    )
                if line.startswith(self.prefix):
                    return line[len(self.prefix) :].strip()

    def stop(self, timeout: float = 45.0) -> None:
        """Stop the server cleanly (the launcher SIGKILLs it after its own grace period)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()  # the server dies with it (PR_SET_PDEATHSIG in the launcher)
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
