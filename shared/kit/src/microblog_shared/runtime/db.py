"""Engines and raw connections, all through SQLAlchemy 2 async on psycopg 3."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

import psycopg
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def create_engine(url: str, pool_size: int = 5, max_overflow: int = 10, **options: Any) -> AsyncEngine:
    """An async engine for `postgresql+psycopg://` URLs, with liveness checks on checkout."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, **options)


def database_url(server_url: str, database: str) -> str:
    """The URL of `database` on the server that `server_url` points at."""
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


def ensure_database(server_url: str, database: str) -> str:
    """Create `database` on the server unless it exists; return its URL."""
    engine = create_sync_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        engine.dispose()
    return database_url(server_url, database)


class Connectable(Protocol):
    """An engine, or what stands for one (a read API's `VersionedEngine`)."""

    def connect(self) -> AsyncConnection: ...


async def psycopg_connection(conn: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under `conn` (for what only the driver does, such as NOTIFY)."""
    return cast(psycopg.AsyncConnection[Any], (await conn.get_raw_connection()).driver_connection)


async def listen(engine: Connectable, channel: str, on_notify: Callable[[], Awaitable[None]]) -> None:
    """Call `on_notify` on every NOTIFY on `channel`, listening again whenever the database comes back.

    Runs until cancelled.
    """
    while True:
        try:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f"LISTEN {channel}"))
                driver = await psycopg_connection(conn)
                await on_notify()  # anything that happened before we listened
                async for _ in driver.notifies():
                    await on_notify()
        except asyncio.CancelledError:
            raise
        except Exception:
            await asyncio.sleep(0.5)  # the database went away: listen again when it's back


# deadlock_detected, serialization_failure: PostgreSQL rolled the statement back for another
# transaction's sake, not because of what it was asked to do; the same work may be tried again.
TRANSIENT_SQLSTATES = {"40P01", "40001"}


def transient(error: BaseException) -> bool:
    """Whether the database refused `error`'s statement for another transaction's sake (deadlock, serialization)."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in TRANSIENT_SQLSTATES
