"""A real single-node Apache Kafka broker for tests, run by `deploy/local/kafka.py`.

The launcher resolves the broker's jars from Maven Central (cached outside the repository),
formats a KRaft storage folder and prints `KAFKA_BOOTSTRAP=host:port` once the broker
serves requests. It stops the broker when its stdin closes, so even a test run that is
killed outright leaves no broker behind.
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
LAUNCHER = REPO_ROOT / "deploy" / "local" / "kafka.py"
BOOTSTRAP_PREFIX = "KAFKA_BOOTSTRAP="


def missing_tools() -> str | None:
    """Why a local broker cannot run here (a sentence), or None when it can."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found on PATH (a local Kafka needs Java 17+ and Maven)"
    if not LAUNCHER.exists():
        return f"the launcher {LAUNCHER} is missing"
    return None


class LocalKafka:
    """One broker whose data, config and logs live in `workdir`; `start()` returns its bootstrap."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = Path(workdir).resolve()
        self.port = port
        self.process: subprocess.Popen[str] | None = None
        self.bootstrap: str | None = None

    def start(self, timeout: float = 90.0) -> str:
        """Fetch the jars if needed, start the broker, wait until it serves; `timeout` covers both."""
        deadline = time.monotonic() + timeout
        self.workdir.mkdir(parents=True, exist_ok=True)
        launcher_log = open(self.workdir / "launcher.log", "ab")
        try:
            subprocess.run(
                [sys.executable, str(LAUNCHER), "fetch"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=launcher_log,
                timeout=max(1.0, deadline - time.monotonic()), check=True,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            launcher_log.close()
            raise RuntimeError(f"fetching the Kafka jars failed ({error}); see {launcher_log.name}") from error
        command = [sys.executable, str(LAUNCHER), "start", "--data-dir", str(self.workdir / "broker"),
                   "--watch-stdin", "--timeout", str(max(1.0, deadline - time.monotonic()))]
        if self.port:
            command += ["--port", str(self.port)]
        # stdin stays open as a lifeline: the launcher stops the broker when it reads EOF.
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=launcher_log, text=True,
        )
        launcher_log.close()
        try:
            self.bootstrap = self._wait_for_bootstrap(deadline)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def _wait_for_bootstrap(self, deadline: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"Kafka did not start in time; see {self.workdir / 'launcher.log'}")
                if not selector.select(remaining):
                    continue
                line = self.process.stdout.readline()
                if not line:
                    code = self.process.wait()
                    raise RuntimeError(
                        f"the Kafka launcher exited with {code}; see {self.workdir / 'launcher.log'}"
                    )
                if line.startswith(BOOTSTRAP_PREFIX):
                    return line[len(BOOTSTRAP_PREFIX):].strip()

    def stop(self, timeout: float = 45.0) -> None:
        """Stop the broker cleanly (the launcher SIGKILLs it after its own grace period)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()  # the broker dies with it (PR_SET_PDEATHSIG in the launcher)
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
