"""A fresh platform for one bus: PostgreSQL, maybe Kafka, and `microblog dev` on top.

The benchmark starts its own embedded PostgreSQL (so it knows the databases to seed) and, for
the kafka bus, a real broker from `LocalKafka`, then runs `microblog dev --database-url ...`
through `DevStackProcess`, exactly as the end-to-end tests do.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import psutil
from rich.progress import Progress
from sqlalchemy import text

from microblog_dev.embedded_postgres import EmbeddedPostgres
from microblog_ops.layout import SERVICES
from microblog_shared.bus import TopicPartition, create_bus
from microblog_shared.read.replay import projection_specs
from microblog_shared.runtime.db import create_engine, database_url
from microblog_shared.runtime.settings import Settings
from microblog_testkit.devstack import DevStackProcess
from microblog_testkit.kafka import LocalKafka, missing_tools

DATABASES = tuple(s.database for s in SERVICES if s.database) + ("bus",)
PARTITIONS = 4  # microblog dev's default --partitions


def _argv(process: psutil.Process) -> list[str]:
    """A process's arguments; processes forked by microblog dev's zygote set them as one title string."""
    return " ".join(process.cmdline()).split()


class Platform:
    """Start with `start()`, stop with `stop()`; `urls` names every service database."""

    def __init__(self, workdir: Path, bus: str, environment: dict[str, str]) -> None:
        self.workdir = workdir
        self.bus = bus
        self.environment = environment
        self.postgres = EmbeddedPostgres(workdir / "postgres")
        self.kafka: LocalKafka | None = None
        self.kafka_bootstrap: str | None = None
        self.stack: DevStackProcess | None = None
        self.urls: dict[str, str] = {}

    def start(self) -> None:
        self.postgres.start()
        self.urls = {name: database_url(self.postgres.url(), name) for name in DATABASES}
        if self.bus == "kafka":
            reason = missing_tools()
            if reason:
                raise SystemExit(f"the kafka bus needs a local broker, but {reason}")
            self.kafka = LocalKafka(self.workdir / "kafka")
            self.kafka_bootstrap = self.kafka.start(timeout=300)
        os.environ.update(self.environment)  # DevStackProcess passes its environment to every process
        self.stack = DevStackProcess(
            self.workdir / f"bench-{self.bus}",
            bus=self.bus,
            kafka_bootstrap=self.kafka_bootstrap,
            database_url=self.postgres.url(),
        )
        self.stack.data_dir.mkdir(parents=True, exist_ok=True)
        self.stack.start(timeout=180)

    def stop(self) -> None:
        if self.stack is not None:
            try:
                self.stack.stop()
            finally:
                self.stack = None
        if self.kafka is not None:
            self.kafka.stop()
        self.postgres.stop()

    @property
    def url(self) -> str:
        return self.stack.url

    def bus_settings(self) -> Settings:
        return Settings(
            environment="test",
            bus=self.bus,
            bus_database_url=self.urls["bus"],
            kafka_bootstrap=self.kafka_bootstrap or "127.0.0.1:9092",
            bus_namespace=self.stack.data_dir.name + ".",
            bus_partitions=PARTITIONS,
        )

    def internal_secret(self) -> str:
        """What the gateway signs the callers it forwards with (`microblog dev` keeps it in its data dir)."""
        return (self.stack.data_dir / "internal-secret").read_text().strip()

    def processes(self) -> dict[str, list[psutil.Process]]:
        """The platform's processes by role: each service process, postgres, kafka."""
        roles: dict[str, list[psutil.Process]] = {}
        for child in psutil.Process(self.stack.process.pid).children(recursive=True):
            try:
                argv = _argv(child)
            except psutil.Error:
                continue
            if "-m" in argv and len(argv) > argv.index("-m") + 2:
                package, command = argv[argv.index("-m") + 1 : argv.index("-m") + 3]
                roles.setdefault(f"{package.replace('_', '-')} {command}", []).append(child)
        server = psutil.Process(self.postgres.process.pid)
        roles["postgres"] = [server, *server.children(recursive=True)]
        if self.kafka is not None and self.kafka.process is not None:
            roles["kafka"] = psutil.Process(self.kafka.process.pid).children(recursive=True)
        return roles

    def api_port(self, package: str) -> int:
        """The port a service's API process listens on (`--port N` on its command line)."""
        (process,) = self.processes()[f"{package} api"]
        argv = _argv(process)
        return int(argv[argv.index("--port") + 1])

    async def wait_for_timeline(self, expected: int, progress: Progress, timeout: float = 3 * 3600) -> float:
        """Seconds until the timeline projection has applied `expected` bus records (and all relayed).

        Its name and topics come from its `microblog.projections` entry point, as for a replay.
        """
        spec = projection_specs()["timeline"]
        timeline = spec.make(spec.settings_class(**self.bus_settings().model_dump()))
        return await self.wait_for_projection(
            timeline.name, list(timeline.topics), "timeline", expected, progress, timeout
        )

    async def wait_for_projection(
        self,
        projection: str,
        topics: list[str],
        database: str,
        expected: int,
        progress: Progress,
        timeout: float = 3 * 3600,
    ) -> float:
        """Seconds until a projection has applied `expected` records of its topics (and all relayed)."""
        started = time.monotonic()
        bus = create_bus(self.bus_settings())
        engine = create_engine(self.urls[database], pool_size=1)
        partitions = [TopicPartition(topic, p) for topic in topics for p in range(PARTITIONS)]
        relayed_task = progress.add_task(f"relayed ({projection})", total=expected)
        applied_task = progress.add_task(f"applied by {projection}", total=expected)
        try:
            while time.monotonic() - started < timeout:
                try:
                    relayed = sum((await bus.end_offsets(partitions)).values())
                except Exception:  # topics not created yet
                    relayed = 0
                async with engine.connect() as conn:
                    applied = await conn.scalar(
                        text("""SELECT coalesce(sum(next_offset), 0) FROM projection_checkpoints
                                WHERE projection = :p"""),
                        {"p": projection},
                    )
                progress.update(relayed_task, completed=relayed)
                applied = int(applied)
                progress.update(applied_task, completed=applied)
                if relayed >= expected and applied >= relayed:
                    return time.monotonic() - started
                await asyncio.sleep(0.5)
            raise TimeoutError(f"{projection} applied {applied} of {expected} events in {timeout} s")
        finally:
            await bus.close()
            await engine.dispose()
