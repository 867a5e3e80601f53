"""Identity as a real process, for the tests of the services that ask it about users.

Run by module name, the way the dev CLI runs it (`python -m identity migrate`, then `api`): no
test outside identity's own imports its package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from microblog_dev.embedded_postgres import free_port
from microblog_dev.orphans import die_with_parent
from microblog_dev.supervisor import python_module

# Every table but Alembic's emptied, every sequence restarted: a database as migrations left it.
_EMPTY = """
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT schemaname, tablename FROM pg_tables
           WHERE schemaname = current_schema() AND tablename <> 'alembic_version' LOOP
    EXECUTE format('TRUNCATE %I.%I RESTART IDENTITY CASCADE', r.schemaname, r.tablename);
  END LOOP;
  FOR r IN SELECT sequence_schema, sequence_name FROM information_schema.sequences
           WHERE sequence_schema = current_schema() LOOP
    EXECUTE format('ALTER SEQUENCE %I.%I RESTART', r.sequence_schema, r.sequence_name);
  END LOOP;
END $$
"""


def unused_address() -> str:
    """The base URL of a local port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}"


class IdentityProcess:
    """`python -m identity api` on the database at `database_url`; `start()` returns its base URL."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "MICROBLOG_ENVIRONMENT": "test",
            "MICROBLOG_DATABASE_URL": database_url,
            "MICROBLOG_JWT_SECRET": "s" * 40,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    def start(self, timeout: float = 60.0) -> str:
        """Migrate the database, start the API, wait until /readyz answers 200."""
        began = time.monotonic()
        deadline = began + timeout
        with open(self.log_path, "ab") as log:
            subprocess.run(
                [sys.executable, "-m", "identity", "migrate"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=True,
            )
            self.process = subprocess.Popen(
                python_module("identity", "api", self.port),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        try:
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self.url

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"identity was not ready in time; see {self.log_path}")
            time.sleep(0.1)
        raise RuntimeError(f"identity exited with {self.process.returncode}; see {self.log_path}")

    def empty(self) -> None:
        """Forget every user: the next test starts on an identity as fresh as a new one."""
        engine = create_engine(self.database_url)
        try:
            with engine.begin() as conn:
                conn.execute(text(_EMPTY))
        finally:
            engine.dispose()

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the API and wait for it (killed if it doesn't stop in time)."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
