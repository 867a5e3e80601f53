"""A real single-node Apache Kafka broker for tests, run by `deploy/local/kafka.py`.

The launcher resolves the broker's jars from Maven Central (cached outside the repository),
formats a KRaft storage folder and prints `KAFKA_BOOTSTRAP=host:port` once the broker
serves requests. It stops the broker when its stdin closes, so even a test run that is
killed outright leaves no broker behind.
"""

from __future__ import annotations

import shutil

from microblog_testkit.launched import REPO_ROOT, LaunchedServer

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


class LocalKafka(LaunchedServer):
    """One broker whose data, config and logs live in `workdir`; `start()` returns its bootstrap."""

    name = "Kafka"
    launcher = LAUNCHER
    prefix = BOOTSTRAP_PREFIX
    data_folder = "broker"

    @property
    def bootstrap(self) -> str | None:
        return self.address
