"""Test helpers for databases: an engine on a fresh database with shared schemas installed."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from microblog_shared.runtime.db import create_engine


async def engine_with(url: str, *schemas: Iterable[str]) -> AsyncEngine:
    engine = create_engine(url)
    async with engine.begin() as conn:
        for schema in schemas:
            for statement in schema:
                await conn.execute(text(statement))
    return engine
