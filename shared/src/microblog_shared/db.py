"""Engines and raw connections, all through SQLAlchemy 2 async on psycopg 3."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(url: str, pool_size: int = 5) -> AsyncEngine:
    """An async engine for `postgresql+psycopg://` URLs, with liveness checks on checkout."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
