"""Replay alone: the benchmark's dataset straight onto a bus, then catch-up and replay, timed.

    uv run --group bench python -m bench.replay_only --bus postgres --scale 0.33
    uv run --group bench python -m bench.replay_only --bus kafka --scale 0.33 --out bench/results/x.json
    uv run --group bench python -m bench.replay_only --projection notifier --size 1m
    uv run --group bench python -m bench.replay_only --projection search-indexer --search-backend elasticsearch

No platform: an embedded PostgreSQL (the projection's database and, on the postgres bus, the
log), a local Kafka broker for the kafka bus, a local Elasticsearch node for the search
indexer's Elasticsearch adapter. The dataset's public facts (`dataset.py`:
registrations, follows, posts) are published as the relays publish them (stream
id as key, the envelope as value), in that order ("seeding"). Then, in this process:

1. **catch-up**: the live projector's runner (`ProjectionRunner`, its default batch) applies
   the whole log into `public`, as `microblog dev`'s projector does after a seed;
2. **replay**: `Replay` (what `microblog replay <projection>` runs) rebuilds it into the next
   version and switches; `--mode rows` turns the projection's bulk mode off (normal batches
   throughout, as before the projection had one), `--mode rows bulk` replays twice to compare.

Each is reported as records, seconds and records/s, CPU per 1,000 records, and this
process's peak resident memory during the phase, with the machine's load average.
`python -m bench.sizes` runs it for every projection at both dataset sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import psutil
from rich.console import Console
from rich.progress import Progress, TaskID

from bench.dataset import SENTENCES, Dataset, add_size_arguments, generate, shape_of
from microblog_dev.embedded_postgres import EmbeddedPostgres
from microblog_shared.bus import EventBus, Record, TopicPartition, create_bus
from microblog_shared.events import Envelope, Event, PostCreated, UserFollowed, UserRegistered
from microblog_shared.read.projection import Projection, ProjectionRunner, ProjectionSpec
from microblog_shared.read.replay import Replay, projection_specs
from microblog_shared.runtime.db import create_engine, ensure_database
from microblog_shared.runtime.migrations import upgrade
from microblog_testkit.elasticsearch import LocalElasticsearch
from microblog_testkit.elasticsearch import missing_tools as missing_elasticsearch
from microblog_testkit.kafka import LocalKafka, missing_tools

PUBLISH_BATCH = 5_000


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children so far, reaped ones included."""
    root = psutil.Process(pid)
    total = sum(root.cpu_times()[:4])  # user, system, children_user, children_system
    for child in root.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


class CpuMeter:
    """CPU seconds of this process and of the servers (PostgreSQL, Kafka) over a block: on a
    shared machine wall time depends on the neighbours, CPU per record much less."""

    def __init__(self, servers: dict[str, int]) -> None:
        self.pids = {"python": os.getpid(), **servers}
        self.used: dict[str, float] = {}

    def seconds(self) -> dict[str, float]:
        # The servers run as children of this process: its own figure leaves children out.
        own = sum(psutil.Process().cpu_times()[:2])
        return {name: own if name == "python" else cpu_seconds(pid) for name, pid in self.pids.items()}

    def __enter__(self) -> CpuMeter:
        self.start = self.seconds()
        return self

    def __exit__(self, *_) -> None:
        self.used = {name: round(seconds - self.start[name], 2) for name, seconds in self.seconds().items()}

    def per_thousand(self, records: int) -> dict[str, float]:
        """CPU milliseconds per 1,000 records, per process."""
        return {name: round(seconds * 1e6 / records, 1) for name, seconds in self.used.items()}


class PeakMemory:
    """This process's peak resident memory over a block, sampled every 50 ms (MiB)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.start = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> dict[str, float]:
        return {"start_mib": round(self.start / 2**20, 1), "peak_mib": round(self.peak / 2**20, 1)}


def phase(records: int, seconds: float, cpu: CpuMeter, memory: PeakMemory) -> dict:
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_second": round(records / seconds),
        "cpu_seconds": cpu.used,
        "cpu_ms_per_1000": cpu.per_thousand(records),
        "memory": memory.report(),
    }


def facts(data: Dataset) -> Iterator[tuple[str, Event]]:
    """(stream id, event) in seeding order: users, follows, posts."""
    registered = data.now - timedelta(days=data.shape.days + 1)
    for user_id in sorted(data.usernames):
        at = registered + timedelta(seconds=user_id)
        name = data.usernames[user_id]
        yield (
            f"user-{user_id}",
            UserRegistered(user_id=user_id, username=name, email=data.email(user_id), about_me="", registered_at=at),
        )
    for follower, followee, at in data.follows:
        yield f"follow-{follower}-{followee}", UserFollowed(follower_id=follower, followee_id=followee, followed_at=at)
    for post_id, (author, at, sentence) in enumerate(data.posts, start=1):
        words, language = SENTENCES[sentence]
        body = f"{words} #{post_id}"
        yield (
            f"post-{post_id}",
            PostCreated(post_id=post_id, author_id=author, body=body, language=language, created_at=at),
        )


async def publish(bus: EventBus, data: Dataset) -> int:
    """Publish the dataset's facts as the relays would; returns how many records."""
    versions: dict[str, int] = {}
    pending: dict[str, list[Record]] = {}
    published = 0

    async def flush() -> None:
        for topic, records in pending.items():
            await bus.publish(topic, records)
        pending.clear()

    for stream_id, event in facts(data):
        versions[stream_id] = versions.get(stream_id, 0) + 1
        envelope = Envelope(
            type=event.type_name,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=versions[stream_id],
            producer="bench",
            payload=event.model_dump(mode="json"),
        )
        record = Record(key=stream_id, value=envelope.to_bytes(), headers={"type": envelope.type})
        pending.setdefault(str(event.topic), []).append(record)
        published += 1
        if published % PUBLISH_BATCH == 0:
            await flush()
    await flush()
    return published


def without_bulk(spec: ProjectionSpec) -> ProjectionSpec:
    """The projection with its bulk mode off: a replay applies the whole log in normal batches."""

    async def no_bulk(_conn) -> bool:
        return False

    def make(settings) -> Projection:
        projection = spec.make(settings)
        setattr(projection, "start_bulk", no_bulk)  # noqa: B010 (an instance's hook, replaced)
        return projection

    return replace(spec, make=make)


async def catch_up(spec, settings, bus: EventBus, progress: Progress, batch: int | None) -> tuple[int, float]:
    """Records of the projection's topics and the seconds the live projector's runner takes to
    apply them all into a fresh read model."""
    projection = spec.make(settings)
    engine = create_engine(settings.database_url, pool_size=2)
    runner = ProjectionRunner(projection, engine, bus)
    runner.batch_size = batch or runner.batch_size
    partitions = [TopicPartition(t, p) for t in projection.topics for p in range(settings.bus_partitions)]
    task = progress.add_task("catch-up (live projector)", total=None)
    stop = asyncio.Event()
    started = time.monotonic()
    running = asyncio.create_task(runner.run(stop))
    try:
        end = sum((await bus.end_offsets(partitions)).values())
        while True:
            applied = sum((await runner.checkpoints()).values())
            progress.update(task, completed=applied, total=end)
            if applied >= end:
                return end, time.monotonic() - started
            if running.done():
                running.result()
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running
        await engine.dispose()
        await projection.close()


def shown(progress: Progress, task: TaskID, done: int, total: int) -> None:
    progress.update(task, completed=done, total=total)


async def measure(args: argparse.Namespace, workdir: Path, console: Console) -> dict:
    postgres = EmbeddedPostgres(workdir / "postgres")
    postgres.start()
    kafka: LocalKafka | None = None
    elasticsearch: LocalElasticsearch | None = None
    try:
        spec = projection_specs()[args.projection]
        database_url = ensure_database(postgres.url(), spec.package)
        bus_url = ensure_database(postgres.url(), "bus")
        upgrade(spec.package, database_url)
        overrides: dict = {"bus": args.bus, "bus_database_url": bus_url}
        if args.projection == "timeline":
            overrides["celebrity_followers"] = args.celebrity_followers
        if args.projection == "search-indexer" and args.search_backend == "elasticsearch":
            reason = missing_elasticsearch()
            if reason:
                raise SystemExit(f"the elasticsearch adapter needs a local node, but {reason}")
            elasticsearch = LocalElasticsearch(workdir / "elasticsearch")
            overrides |= {"search_backend": "elasticsearch", "elasticsearch_url": elasticsearch.start()}
        if args.bus == "kafka":
            reason = missing_tools()
            if reason:
                raise SystemExit(f"the kafka bus needs a local broker, but {reason}")
            kafka = LocalKafka(workdir / "kafka")
            overrides["kafka_bootstrap"] = kafka.start(timeout=300)
        settings = spec.settings_class(environment="test", database_url=database_url, bus_partitions=4, **overrides)
        data = generate(shape_of(args), args.seed)
        summary = data.summary()
        bus = create_bus(settings)
        try:
            started = time.monotonic()
            records = await publish(bus, data)
            published = time.monotonic() - started
            del data  # the projector's memory is measured below, not the generator's
            console.print(f"[{args.bus}] published {records:,} records in {published:.1f} s")
            servers = {"postgres": postgres.process.pid}
            for name, server in (("kafka", kafka), ("elasticsearch", elasticsearch)):
                if server is not None and server.process is not None:
                    servers[name] = server.process.pid
            phases: dict[str, dict | None] = {"catch_up": None, "replay": None}
            with Progress(console=console) as progress:
                if args.catch_up:
                    with CpuMeter(servers) as cpu, PeakMemory() as memory:
                        applied, seconds = await catch_up(spec, settings, bus, progress, args.catch_up_batch)
                    phases["catch_up"] = phase(applied, seconds, cpu, memory)
                replays = {}
                for mode in args.mode if args.replay else []:
                    task = progress.add_task(f"replay ({mode})", total=None)
                    with CpuMeter(servers) as cpu, PeakMemory() as memory:
                        replay = Replay(spec if mode == "bulk" else without_bulk(spec), settings, bus)
                        result = await replay.run(partial(shown, progress, task))
                    replays[mode] = phase(result.records, result.seconds, cpu, memory) | {
                        "steps": result.steps,
                        "loadavg": os.getloadavg(),
                    }
                phases["replay"] = replays.get("bulk") or next(iter(replays.values()), None)
        finally:
            await bus.close()
        return {
            "projection": args.projection,
            "search_backend": args.search_backend if args.projection == "search-indexer" else None,
            "bus": args.bus,
            "size": args.size,
            "scale": args.scale,
            "dataset": summary,
            "records": records,
            "seeding": {"seconds": round(published, 2), "records_per_second": round(records / published)},
            "catch_up_batch": args.catch_up_batch,
            **phases,
            "replays": replays,
            "loadavg": os.getloadavg(),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    finally:
        if elasticsearch is not None:
            elasticsearch.stop()
        if kafka is not None:
            kafka.stop()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replay_only", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bus", choices=["postgres", "kafka"], default="postgres")
    parser.add_argument("--projection", choices=sorted(projection_specs()), default="timeline")
    parser.add_argument("--search-backend", choices=["postgres", "elasticsearch"], default="postgres")
    parser.add_argument(
        "--mode",
        nargs="+",
        choices=["bulk", "rows"],
        default=["bulk"],
        help="replays, one after the other on the same log (rows: the projection's bulk mode off)",
    )
    add_size_arguments(parser)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--celebrity-followers", type=int, default=1_000, help="as the benchmark's platform")
    parser.add_argument("--no-catch-up", dest="catch_up", action="store_false", help="replay only")
    parser.add_argument("--no-replay", dest="replay", action="store_false", help="catch-up only")
    parser.add_argument("--catch-up-batch", type=int, help="the live runner's batch (default: its own)")
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        result = asyncio.run(measure(args, Path(tmp), console))
    console.print_json(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
