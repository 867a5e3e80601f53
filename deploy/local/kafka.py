#!/usr/bin/env python3
"""Run a real single-node Apache Kafka broker (KRaft) from Maven Central jars.

Needs only Python 3.11+, Java 17+ and Maven on PATH; no Kafka download, no container.

    python deploy/local/kafka.py fetch                    # resolve the jars into the cache
    python deploy/local/kafka.py start --data-dir DIR     # format DIR, start, print KAFKA_BOOTSTRAP=...
    python deploy/local/kafka.py run                      # fetch + start on 127.0.0.1:9092 (for humans)

`start` and `run` stay in the foreground until SIGTERM or SIGINT, then stop the broker cleanly
(SIGKILL after a timeout). If this script itself is killed, the kernel kills the JVM too
(PR_SET_PDEATHSIG), so no broker is ever orphaned.

The jars live in `~/.cache/microblog/kafka-<version>/libs` (override: MICROBLOG_KAFKA_CACHE,
the libs folder itself) and in Maven's own `~/.m2`; never in the repository.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

KAFKA_VERSION = "4.1.1"
POM = Path(__file__).resolve().with_name("kafka-pom.xml")
READY_MARKER = ".complete"
PR_SET_PDEATHSIG = 1


def log(message: str) -> None:
    print(f"[kafka.py] {message}", file=sys.stderr, flush=True)


def libs_dir() -> Path:
    override = os.environ.get("MICROBLOG_KAFKA_CACHE")
    if override:
        return Path(override).expanduser().resolve()
    return Path.home() / ".cache" / "microblog" / f"kafka-{KAFKA_VERSION}" / "libs"


def fetch() -> Path:
    """Copy the broker's class path into the cache once; later calls return at once."""
    libs = libs_dir()
    if (libs / READY_MARKER).exists():
        return libs
    libs.parent.mkdir(parents=True, exist_ok=True)
    # Several test workers may fetch at the same time: one resolves, the others wait for it.
    with open(libs.parent / f".{libs.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (libs / READY_MARKER).exists():
            return libs
        if shutil.which("mvn") is None:
            raise SystemExit("mvn is not on PATH: install Maven (and Java 17+) to run a local Kafka")
        log(f"resolving Kafka {KAFKA_VERSION} jars from Maven Central into {libs}")
        started = time.monotonic()
        staging = Path(tempfile.mkdtemp(prefix=f"{libs.name}.", dir=libs.parent))
        try:
            result = subprocess.run(
                [
                    "mvn",
                    "-q",
                    "-B",
                    "-Dstyle.color=never",
                    "-f",
                    str(POM),
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={staging}",
                ],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise SystemExit(f"mvn failed ({result.returncode}):\n{result.stdout}{result.stderr}")
            (staging / READY_MARKER).write_text(KAFKA_VERSION + "\n")
            if libs.exists():
                shutil.rmtree(libs)  # a half-copied folder from an interrupted older fetch
            staging.rename(libs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        jars = len(list(libs.glob("*.jar")))
        log(f"{jars} jars ready in {time.monotonic() - started:.1f} s")
    return libs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def random_cluster_id() -> str:
    # Kafka's Uuid.randomUuid(): url-safe base64 without padding, never starting with "-".
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def write_config(data_dir: Path, port: int, controller_port: int) -> Path:
    log_dirs = data_dir / "kafka-logs"
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dirs),
        "num.partitions": "4",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.retention.ms": "-1",
    }
    config = data_dir / "server.properties"
    config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    (data_dir / "log4j.properties").write_text(
        "log4j.rootLogger=INFO, file\n"
        "log4j.appender.file=org.apache.log4j.FileAppender\n"
        f"log4j.appender.file.File={data_dir / 'server.log'}\n"
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        "log4j.logger.kafka.request.logger=WARN\n"
        "log4j.logger.org.apache.kafka.controller=INFO\n"
    )
    # Kafka 4 also touches log4j2 directly; without a config it complains on the console.
    (data_dir / "log4j2.properties").write_text(
        "status=warn\n"
        "appender.file.type=File\n"
        "appender.file.name=file\n"
        f"appender.file.fileName={data_dir / 'server.log'}\n"
        "appender.file.layout.type=PatternLayout\n"
        "appender.file.layout.pattern=[%d] %p %m (%c)%n\n"
        "rootLogger.level=INFO\n"
        "rootLogger.appenderRef.file.ref=file\n"
    )
    return config


def die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs this child when the launcher dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def java(libs: Path, data_dir: Path, main_class: str, *args: str) -> list[str]:
    return [
        "java",
        "-Xmx512m",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{data_dir / 'log4j.properties'}",
        f"-Dlog4j2.configurationFile={data_dir / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={data_dir}",
        "-cp",
        f"{libs}/*",
        main_class,
        *args,
    ]


def format_storage(libs: Path, data_dir: Path, config: Path) -> None:
    if (data_dir / "kafka-logs" / "meta.properties").exists():
        return  # formatted by an earlier run: keep its cluster id and data
    result = subprocess.run(
        java(libs, data_dir, "kafka.tools.StorageTool", "format", "-t", random_cluster_id(), "-c", str(config)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        preexec_fn=die_with_parent,
    )
    if result.returncode != 0:
        raise SystemExit(f"formatting the storage failed:\n{result.stdout}{result.stderr}")


def answers_api_versions(port: int) -> bool:
    """True once the broker serves requests (the port is bound long before it does)."""
    client_id = b"kafka.py"
    request = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id  # ApiVersions v0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.settimeout(2.0)
            sock.sendall(struct.pack(">i", len(request)) + request)
            header = sock.recv(10)
    except OSError:
        return False
    if len(header) < 10:
        return False
    _size, correlation_id, error_code = struct.unpack(">iih", header)
    return correlation_id == 1 and error_code == 0


class Launcher:
    def __init__(self, data_dir: Path, port: int | None, watch_stdin: bool) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.port = port or free_port()
        self.watch_stdin = watch_stdin
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None

    def request_stop(self, *_args) -> None:
        self.stopping.set()

    def run(self, timeout: float) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        if self.watch_stdin:
            threading.Thread(target=self._stop_on_stdin_eof, daemon=True).start()
        try:
            return self._serve(timeout)
        finally:
            self._stop_jvm()

    def _stop_on_stdin_eof(self) -> None:
        # The parent holds our stdin open; EOF means it died, however it died. (os.read, not
        # sys.stdin: a daemon thread holding the buffered reader's lock aborts interpreter exit.)
        with contextlib.suppress(OSError):
            while os.read(sys.stdin.fileno(), 4096):
                pass
        self.stopping.set()

    def _serve(self, timeout: float) -> int:
        libs = fetch()
        if shutil.which("java") is None:
            raise SystemExit("java is not on PATH: install Java 17+ to run a local Kafka")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = write_config(self.data_dir, self.port, free_port())
        format_storage(libs, self.data_dir, config)
        started = time.monotonic()
        with open(self.data_dir / "kafka.out", "ab") as out:
            self.process = subprocess.Popen(
                java(libs, self.data_dir, "kafka.Kafka", str(config)),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        while not answers_api_versions(self.port):
            if self.process.poll() is not None:
                log(f"the broker exited with {self.process.returncode}; see {self.data_dir / 'server.log'}")
                return 1
            if self.stopping.is_set():
                return 0
            if time.monotonic() - started > timeout:
                log(f"the broker did not answer within {timeout:.0f} s; see {self.data_dir / 'server.log'}")
                return 1
            time.sleep(0.2)
        log(
            f"broker ready in {time.monotonic() - started:.1f} s (pid {self.process.pid}, "
            f"log {self.data_dir / 'server.log'})"
        )
        print(f"KAFKA_BOOTSTRAP=127.0.0.1:{self.port}", flush=True)
        while not self.stopping.wait(0.5):
            if self.process.poll() is not None:
                log(f"the broker exited on its own with {self.process.returncode}")
                return 1
        return 0

    def _stop_jvm(self, grace: float = 30.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        log("stopping the broker")
        process.terminate()  # Kafka's shutdown hook closes logs and leaves the quorum cleanly
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            log(f"the broker did not stop within {grace:.0f} s: killing it")
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="resolve the Kafka jars into the cache (no-op when cached)")
    start = commands.add_parser("start", help="format DIR if needed, start the broker, print KAFKA_BOOTSTRAP=")
    start.add_argument("--data-dir", type=Path, required=True)
    start.add_argument("--port", type=int, help="broker port on 127.0.0.1 (default: a free one)")
    start.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the broker")
    start.add_argument("--watch-stdin", action="store_true", help="stop when stdin closes (parent died)")
    run = commands.add_parser("run", help="fetch, then start with a persistent data dir (for humans)")
    run.add_argument("--data-dir", type=Path, default=Path.home() / ".cache" / "microblog" / "kafka-data")
    run.add_argument("--port", type=int, default=9092)
    run.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)

    if args.command == "fetch":
        print(fetch())
        return 0
    return Launcher(args.data_dir, args.port, getattr(args, "watch_stdin", False)).run(args.timeout)


if __name__ == "__main__":
    sys.exit(main())
