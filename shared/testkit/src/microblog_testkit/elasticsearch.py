"""A real single-node Elasticsearch for tests, run by `deploy/local/elasticsearch.py`.

The launcher resolves the server's jars from Maven Central (cached outside the repository),
assembles a node, and prints `ELASTICSEARCH_URL=http://127.0.0.1:PORT` once the cluster is
green or yellow. It stops the node when its stdin closes, so even a test run that is killed
outright leaves no node behind. The node lacks the modules Maven Central does not publish
(analysis-common, mapper-extras, reindex, painless, rest-root, x-pack): see the launcher.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

from microblog_testkit.launched import REPO_ROOT, LaunchedServer

LAUNCHER = REPO_ROOT / "deploy" / "local" / "elasticsearch.py"
URL_PREFIX = "ELASTICSEARCH_URL="


def _launcher_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("microblog_local_elasticsearch", LAUNCHER)
    assert spec is not None and spec.loader is not None  # a .py path always has both
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


class LocalElasticsearch(LaunchedServer):
    """One node whose config, data and logs live in `workdir`; `start()` returns its URL."""

    name = "Elasticsearch"
    launcher = LAUNCHER
    prefix = URL_PREFIX
    data_folder = "node"

    def __init__(self, workdir: Path, port: int | None = None, heap: str = "512m") -> None:
        super().__init__(workdir, port)
        self.heap = heap

    def start_arguments(self) -> list[str]:
        return ["--heap", self.heap, "--ephemeral"]

    def start(self, timeout: float = 180.0) -> str:
        return super().start(timeout)

    @property
    def url(self) -> str | None:
        return self.address
