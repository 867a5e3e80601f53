"""Engines and raw connections, all through SQLAlchemy 2 async on psycopg 3."""

from __future__ import annotations

from sqlalchemy import create_engine as create_sync_engine, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def create_engine(url: str, pool_size: int = 5, **options) -> AsyncEngine:
    """An async engine for `postgresql+psycopg://` URLs, with liveness checks on checkout."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, **options)


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
