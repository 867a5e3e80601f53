"""Versions of a read model: the schema its tables live in, and the switch from one to the next.

A projection's tables start in `public` (version 0). A replay builds the next version in a
schema of its own (`<projection>_v<N>`) from offset 0 while the current one keeps serving,
then points `public.read_model_versions` at it. Who follows the pointer:

- the live projector, at the start of every batch, under a shared advisory lock that the
  switch takes exclusively (so no batch straddles a switch);
- read APIs, through a `VersionedEngine`: an engine whose connections use the current schema,
  replaced as a whole when a switch is announced (NOTIFY) or seen by a periodic check.
"""

from __future__ import annotations

import asyncio
import logging
import re
import zlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.runtime.db import create_engine, psycopg_connection

log = logging.getLogger(__name__)

POINTER_TABLE = """CREATE TABLE IF NOT EXISTS public.read_model_versions (
    projection text PRIMARY KEY, schema text NOT NULL, switched_at timestamptz NOT NULL DEFAULT now())"""
SWITCHED_CHANNEL = "read_model_switched"
DEFAULT_SCHEMA = "public"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def schema_name(projection: str, version: int) -> str:
    return f"{projection.replace('-', '_').replace('.', '_')}_v{version}"


def version_of(schema: str) -> int:
    """0 for `public`, N for `<projection>_vN`."""
    return int(schema.rpartition("_v")[2]) if "_v" in schema else 0


def search_path(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise ValueError(f"not a read-model schema name: {schema!r}")
    # Only the version's own schema: a table it lacks must be an error, never one of another version.
    return schema


def switch_lock(projection: str) -> int:
    """The advisory lock key that batches share and a switch takes alone."""
    return 7100000 + zlib.crc32(projection.encode()) % 100000


async def current_schema(conn: AsyncConnection, projection: str) -> str:
    """The schema of the version being served (the pointer table comes with the projection's migrations)."""
    schema = await conn.scalar(
        text("SELECT schema FROM public.read_model_versions WHERE projection = :p"), {"p": projection}
    )
    return schema or DEFAULT_SCHEMA


async def enter_current(conn: AsyncConnection, projection: str) -> str:
    """In a projector's batch transaction: wait out any switch, then use the current schema."""
    await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": switch_lock(projection)})
    schema: str = await conn.scalar(
        text("""SELECT schema FROM (SELECT coalesce((SELECT schema FROM public.read_model_versions
                                                     WHERE projection = :p), 'public') AS schema) s,
                     set_config('search_path', s.schema, true)"""),
        {"p": projection},
    )
    return schema


async def use_schema(conn: AsyncConnection, schema: str) -> None:
    """Point this transaction's unqualified table names at `schema`."""
    await conn.execute(text("SELECT set_config('search_path', :s, true)"), {"s": search_path(schema)})


async def point_to(conn: AsyncConnection, projection: str, schema: str) -> None:
    await conn.execute(
        text("""INSERT INTO public.read_model_versions (projection, schema) VALUES (:p, :s)
                ON CONFLICT (projection) DO UPDATE SET schema = EXCLUDED.schema, switched_at = now()"""),
        {"p": projection, "s": schema},
    )
    await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": SWITCHED_CHANNEL, "p": projection})


def schema_engine(url: str, schema: str, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
    """An engine whose every connection resolves table names in `schema` first."""
    return create_engine(url, pool_size, max_overflow, connect_args={"options": f"-csearch_path={search_path(schema)}"})


class VersionedEngine:
    """The engine of a read API: always over the projection's current read-model version.

    `engine` and `reads` (autocommit) are swapped together when the version changes; a request
    that already holds a connection finishes on the version it started with.
    """

    # All of the pool is kept (no overflow): under load, overflow connections were opened and
    # closed again per request (a connect cost about 4 % of a read API's CPU).
    def __init__(self, url: str, projection: str, pool_size: int = 20, recheck_seconds: float = 5.0) -> None:
        self.url, self.projection, self.pool_size = url, projection, pool_size
        self.recheck_seconds = recheck_seconds
        self.schema: str | None = None
        self.engine: AsyncEngine = schema_engine(url, DEFAULT_SCHEMA, pool_size, max_overflow=0)
        self.reads: AsyncEngine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._follower: asyncio.Task[None] | None = None

    def connect(self) -> AsyncConnection:
        return self.engine.connect()

    async def start(self) -> None:
        await self.refresh()
        self._follower = asyncio.create_task(self._follow())

    async def refresh(self) -> None:
        async with self.engine.connect() as conn:
            schema = await current_schema(conn, self.projection)
            await conn.commit()
        if schema != self.schema:
            self._use(schema)

    def _use(self, schema: str) -> None:
        old, self.schema = self.engine, schema
        self.engine = schema_engine(self.url, schema, self.pool_size, max_overflow=0)
        self.reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        log.info("reading %s from schema %s", self.projection, schema)
        # Connections still checked out close when returned; idle ones close now.
        asyncio.get_running_loop().create_task(old.dispose())

    async def _follow(self) -> None:
        while True:
            try:
                async with self.engine.connect() as conn:
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await conn.execute(text(f"LISTEN {SWITCHED_CHANNEL}"))
                    driver = await psycopg_connection(conn)
                    while True:
                        async for _ in driver.notifies(timeout=self.recheck_seconds, stop_after=1):
                            pass
                        await self.refresh()
                        if self.engine is not conn.engine:
                            break  # listen again on the new engine, so the old one can close
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("following read-model versions failed (%r); retrying", exc)
                await asyncio.sleep(1.0)

    async def dispose(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        await self.engine.dispose()
