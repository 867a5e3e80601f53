"""Evidence for ADR 0004: faust-streaming as a projector host, SIGKILLed mid-stream.

Rerun from the repository root (needs Java 17 + Maven for the broker; faust goes into a
throwaway venv, never into the project):

    uv venv /tmp/faustenv --python 3.11
    uv pip install --python /tmp/faustenv faust-streaming "psycopg[binary]"
    uv run python docs/adr/experiments/faust_projector.py --faust-python /tmp/faustenv/bin/python

The driver (project venv) starts a real Kafka broker (deploy/local/kafka.py) and an embedded
PostgreSQL, publishes 10,000 keyed records through our KafkaBus, then runs this same file as
a faust worker (`worker` sub-command, faust venv) whose agent inserts one read-model row per
record. The read-model table has no unique key on purpose, so every redelivery shows up as
an extra row, as it would in any non-idempotent projection (a counter, a notification).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

TOPIC = "faust-experiment"
RECORDS = 10_000
PARTITIONS = 4
KILL_AT = (2_500, 5_000, 7_500)  # distinct rows applied when each SIGKILL is sent


# --- worker: runs under the faust venv ----------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    import faust
    import psycopg

    app = faust.App(
        args.app_id,
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        datadir=args.datadir,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
    )
    topic = app.topic(TOPIC, key_serializer="raw", value_serializer="raw")

    @app.agent(topic)
    async def project(stream):
        # Like our runner: a batch of events, one read-model transaction per batch.
        conn = await psycopg.AsyncConnection.connect(args.dsn) if args.dsn else None
        seen, first = 0, None
        async for batch in stream.take_events(args.batch, within=0.2):
            if first is None:
                first = time.monotonic()
                emit({"first_event_after": first - STARTED})
            if conn is not None:
                async with conn.transaction(), conn.cursor() as cursor:
                    await cursor.executemany(
                        "INSERT INTO read_model (record_id, key, partition, record_offset, incarnation)"
                        " VALUES (%s, %s, %s, %s, %s)",
                        [
                            (int(e.value), e.key.decode(), e.message.partition, e.message.offset, args.incarnation)
                            for e in batch
                        ],
                    )
            if args.work_ms:
                await asyncio.sleep(args.work_ms / 1000)  # stands in for a real projection's work
            seen += len(batch)
            if seen >= RECORDS and first is not None:
                emit({"read_all_in": time.monotonic() - first})
                first = float("inf")

    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn", "--without-web"]
    app.main()


STARTED = time.monotonic()


def emit(line: dict) -> None:
    # faust turns sys.stdout into a logger; the pipe on fd 1 is still ours.
    os.write(1, ("RESULT " + json.dumps(line) + "\n").encode())


# --- driver: runs under the project venv --------------------------------------------------


class Worker:
    """One faust worker process; `results` collects its RESULT lines."""

    running: ClassVar[list[Worker]] = []

    def __init__(
        self,
        python: str,
        workdir: Path,
        bootstrap: str,
        app_id: str,
        dsn: str | None,
        incarnation: int,
        batch: int = 500,
        work_ms: int = 0,
    ):
        command = [
            python,
            __file__,
            "worker",
            "--bootstrap",
            bootstrap,
            "--app-id",
            app_id,
            "--datadir",
            str(workdir / f"{app_id}-data"),
            "--incarnation",
            str(incarnation),
            "--batch",
            str(batch),
            "--work-ms",
            str(work_ms),
        ]
        if dsn:
            command += ["--dsn", dsn]
        self.results: list[dict] = []
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=open(workdir / f"{app_id}-{incarnation}.log", "wb"),  # noqa: SIM115 (the child keeps it)
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        Worker.running.append(self)

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("RESULT "):
                self.results.append(json.loads(line[len("RESULT ") :]))

    def result(self, name: str, timeout: float = 120.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.results:
                if name in entry:
                    return entry[name]
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}; see its log")
            time.sleep(0.05)
        raise TimeoutError(f"worker never reported {name!r}")

    def kill(self, sig: int = signal.SIGKILL) -> float:
        """Signal the worker; returns how long it took to exit."""
        started = time.monotonic()
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        return time.monotonic() - started


def driver(args: argparse.Namespace) -> None:
    import psycopg

    from microblog_dev.embedded_postgres import EmbeddedPostgres
    from microblog_shared.bus.kafka import KafkaBus
    from microblog_shared.bus.port import Record
    from microblog_testkit.kafka import LocalKafka

    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # coordinator retries on a fresh broker
    workdir = Path(tempfile.mkdtemp(prefix="faust-experiment-"))
    broker, pg = LocalKafka(workdir / "kafka"), EmbeddedPostgres(workdir / "postgres")
    bootstrap = broker.start()
    pg.start()
    try:
        pg.create_database("faust_rm")
        dsn = f"host=127.0.0.1 port={pg.port} user=postgres dbname=faust_rm"
        asyncio.run(publish(KafkaBus(bootstrap, partitions=PARTITIONS), Record))
        print(f"broker {bootstrap}, {RECORDS:,} records on {PARTITIONS} partitions; logs in {workdir}")
        print(f"our KafkaBus consumer read them in {asyncio.run(read_with_bus(KafkaBus(bootstrap))):.2f} s")

        # 1. How fast does a faust agent read the topic, with and without PostgreSQL writes?
        for run in range(1, 4):
            w = Worker(args.faust_python, workdir, bootstrap, f"exp-read-{run}", None, 1)
            print(
                f"faust run {run}, no sink: first record {w.result('first_event_after'):.1f} s after process "
                f"start, all {RECORDS:,} read in {w.result('read_all_in'):.2f} s"
            )
            print(f"  worker stopped {w.kill(signal.SIGTERM):.1f} s after SIGTERM")
        for run in range(1, 4):
            with psycopg.connect(dsn, autocommit=True) as conn:
                reset_table(conn)
            w = Worker(args.faust_python, workdir, bootstrap, f"exp-pg-clean-{run}", dsn, 1)
            print(
                f"faust run {run}, one transaction per batch of up to 500 rows: "
                f"all {RECORDS:,} in {w.result('read_all_in'):.2f} s"
            )
            w.kill(signal.SIGTERM)

        # 2. SIGKILL the projector mid-stream and count what the read model got. Each batch of
        # 100 "works" 100 ms (about 1,000 records/s), so the stream spans several of faust's
        # commit ticks (every 2.8 s) instead of finishing before the first one. A restarted worker
        # waits for the killed member's session to expire (faust's default: 60 s) before it
        # gets partitions again.
        with psycopg.connect(dsn, autocommit=True) as conn:
            reset_table(conn)
            incarnation = 1
            for threshold in (*KILL_AT, None):
                w = Worker(
                    args.faust_python, workdir, bootstrap, "exp-pg-kill", dsn, incarnation, batch=100, work_ms=100
                )
                if threshold is None:
                    print(f"worker {incarnation}: first record {w.result('first_event_after'):.1f} s after start")
                    wait_until_quiet(conn)
                    w.kill(signal.SIGTERM)
                    break
                while distinct(conn) < threshold:
                    assert w.process.poll() is None, "worker died on its own"
                    time.sleep(0.02)
                w.kill()
                committed = asyncio.run(committed_offsets(bootstrap, "exp-pg-kill"))
                print(
                    f"worker {incarnation}: first record {w.result('first_event_after'):.1f} s after start; "
                    f"SIGKILL at {distinct(conn):,} distinct rows; "
                    f"faust had committed offsets covering {committed:,} records"
                )
                incarnation += 1
            report(conn)
    finally:
        for w in Worker.running:
            w.kill()
        pg.stop()
        broker.stop()


async def publish(bus, Record) -> None:
    records = [Record(key=f"user-{i % 500}", value=str(i).encode()) for i in range(RECORDS)]
    await bus.publish(TOPIC, records)
    await bus.close()


async def read_with_bus(bus) -> float:
    consumer = bus.consumer("bus-read", [TOPIC])
    await consumer.start()
    started, got = time.perf_counter(), 0
    while got < RECORDS:
        got += len(await consumer.poll(max_records=1000, timeout=0.5))
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await bus.close()
    return elapsed


async def committed_offsets(bootstrap: str, group: str) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == TOPIC and meta.offset > 0)


def reset_table(conn) -> None:
    conn.execute("DROP TABLE IF EXISTS read_model")
    conn.execute("""CREATE TABLE read_model (record_id int NOT NULL, key text NOT NULL, partition int NOT NULL,
                    record_offset bigint NOT NULL, incarnation int NOT NULL)""")


def distinct(conn) -> int:
    return conn.execute("SELECT count(DISTINCT record_id) FROM read_model").fetchone()[0]


def wait_until_quiet(conn, quiet: float = 8.0, timeout: float = 180.0) -> None:
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        rows = conn.execute("SELECT count(*) FROM read_model").fetchone()[0]
        if rows != last:
            last, since = rows, time.monotonic()
        elif distinct(conn) >= RECORDS and time.monotonic() - since > quiet:
            return
        time.sleep(0.2)
    raise TimeoutError("the last worker never caught up")


def report(conn) -> None:
    rows, unique = conn.execute("SELECT count(*), count(DISTINCT record_id) FROM read_model").fetchone()
    print(
        f"read model: {rows:,} rows, {unique:,} distinct records -> {RECORDS - unique} lost, {rows - unique:,} doubled"
    )
    # A row of incarnation k is a redelivery caused by kill k-1 if an earlier incarnation wrote it.
    per_kill = conn.execute("""
        SELECT later.incarnation - 1, count(*) FROM read_model later
        WHERE EXISTS (SELECT 1 FROM read_model earlier
                      WHERE earlier.record_id = later.record_id AND earlier.incarnation < later.incarnation)
        GROUP BY later.incarnation ORDER BY 1""").fetchall()
    for kill, doubled in per_kill:
        print(f"  after SIGKILL {kill}: {doubled:,} records applied a second time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    work = commands.add_parser("worker")
    work.add_argument("--bootstrap", required=True)
    work.add_argument("--app-id", required=True)
    work.add_argument("--datadir", required=True)
    work.add_argument("--dsn")
    work.add_argument("--incarnation", type=int, default=1)
    work.add_argument("--batch", type=int, default=500)
    work.add_argument("--work-ms", type=int, default=0)
    parser.add_argument("--faust-python", default="/tmp/faustenv/bin/python")
    args = parser.parse_args()
    if args.command == "worker":
        worker(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
