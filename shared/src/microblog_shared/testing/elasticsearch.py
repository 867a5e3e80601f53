"""A real single-node Elasticsearch for tests, run by `deploy/local/elasticsearch.py`.

The launcher resolves the server's jars from Maven Central (cached outside the repository),
assembles a node, and prints `ELASTICSEARCH_URL=http://127.0.0.1:PORT` once the cluster is
green or yellow. It stops the node when its stdin closes, so even a test run that is killed
outright leaves no node behind. The node lacks the modules Maven Central does not publish
(analysis-common, mapper-extras, reindex, painless, rest-root, x-pack): see the launcher.
"""

from __future__ import annotations

import importlib.util
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
LAUNCHER = REPO_ROOT / "deploy" / "local" / "elasticsearch.py"
URL_PREFIX = "ELASTICSEARCH_URL="


def _launcher_module():
    spec = importlib.util.spec_from_file_location("microblog_local_elasticsearch", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def missing_tools() -> str | None:
    """Why a local node cannot run here (a sentence), or None when it can."""
    if not LAUNCHER.exists():
        return f"the launcher {LAUNCHER} is missing"
    launcher = _launcher_module()
    missing = []
    if launcher.find_jdk() is None:
        missing.append(f"a JDK {launcher.MIN_JAVA}+ (with javac)")
    if shutil.which("mvn") is None:
        missing.append("Maven (mvn)")
    if launcher.find_libzstd() is None:
        missing.append("libzstd.so.1")
    if missing:
        return f"{' and '.join(missing)} not found (needed for a local Elasticsearch)"
    return None


class LocalElasticsearch:
    """One node whose config, data and logs live in `workdir`; `start()` returns its URL."""

    def __init__(self, workdir: Path, port: int | None = None, heap: str = "512m") -> None:
        self.workdir = Path(workdir).resolve()
        self.port = port
        self.heap = heap
        self.process: subprocess.Popen[str] | None = None
        self.url: str | None = None
        self.fetch_seconds = 0.0
        self.start_seconds = 0.0

    def start(self, timeout: float = 180.0) -> str:
        """Fetch and assemble the node if needed, start it, wait until it answers; `timeout` covers all."""
        began = time.monotonic()
        deadline = began + timeout
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
            raise RuntimeError(f"fetching Elasticsearch failed ({error}); see {launcher_log.name}") from error
        self.fetch_seconds = time.monotonic() - began
        command = [sys.executable, str(LAUNCHER), "start", "--data-dir", str(self.workdir / "node"),
                   "--heap", self.heap, "--watch-stdin", "--ephemeral",
                   "--timeout", str(max(1.0, deadline - time.monotonic()))]
        if self.port:
            command += ["--port", str(self.port)]
        # stdin stays open as a lifeline: the launcher stops the node when it reads EOF.
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=launcher_log, text=True,
        )
        launcher_log.close()
        try:
            self.url = self._wait_for_url(deadline)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self.url

    def _wait_for_url(self, deadline: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"Elasticsearch did not start in time; see {self.workdir / 'launcher.log'}")
                if not selector.select(remaining):
                    continue
                line = self.process.stdout.readline()
                if not line:
                    code = self.process.wait()
                    raise RuntimeError(
                        f"the Elasticsearch launcher exited with {code}; see {self.workdir / 'launcher.log'}"
                    )
                if line.startswith(URL_PREFIX):
                    return line[len(URL_PREFIX):].strip()

    def stop(self, timeout: float = 45.0) -> None:
        """Stop the node cleanly (the launcher SIGKILLs it after its own grace period)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()  # the node dies with it (PR_SET_PDEATHSIG in the launcher)
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
