"""Bulk loading into a replay's fresh schema: secondary indexes set aside and built once at the end.

A replay writes every row of a read model into tables nobody reads yet; maintaining their
secondary indexes row by row costs more than building them once from the full tables. Primary
keys and unique constraints stay: the projection's upserts and dedupe rely on them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def set_indexes_aside(conn: AsyncConnection, tables: Sequence[str], keys: bool = False) -> list[str]:
    """Drop the secondary indexes of `tables` (in the transaction's schema); their definitions.

    With `keys`, their primary keys too: for tables nothing reads or upserts into until the
    end. Give the definitions to `build_indexes` once the tables are loaded.
    """
    definitions = []
    if keys:
        constraints = (
            await conn.execute(
                text("""SELECT c.conname, t.relname, pg_get_constraintdef(c.oid) AS definition
                        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                        WHERE c.connamespace = CAST(current_schema() AS regnamespace) AND c.contype = 'p'
                          AND t.relname = ANY(CAST(:t AS text[]))
                        ORDER BY t.relname"""),
                {"t": list(tables)},
            )
        ).all()
        for row in constraints:
            await conn.execute(text(f'ALTER TABLE "{row.relname}" DROP CONSTRAINT "{row.conname}"'))
            definitions.append(f'ALTER TABLE "{row.relname}" ADD CONSTRAINT "{row.conname}" {row.definition}')
    rows = (
        await conn.execute(
            text("""SELECT i.indexname, i.indexdef FROM pg_indexes i
                    WHERE i.schemaname = current_schema() AND i.tablename = ANY(CAST(:t AS text[]))
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                      WHERE c.conname = i.indexname AND c.connamespace = CAST(current_schema() AS regnamespace))
                    ORDER BY i.tablename, i.indexname"""),
            {"t": list(tables)},
        )
    ).all()
    for row in rows:
        await conn.execute(text(f'DROP INDEX "{row.indexname}"'))
    return definitions + [row.indexdef for row in rows]


async def build_indexes(conn: AsyncConnection, definitions: Sequence[str]) -> None:
    """Create the indexes `set_indexes_aside` dropped, each in one pass over its loaded table."""
    await conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for definition in definitions:
        await conn.execute(text(definition))


async def analyze(conn: AsyncConnection, tables: Sequence[str]) -> None:
    """Statistics for freshly loaded tables (autovacuum may not have come by yet): queries that
    build from them at the end of a replay get plans for their real sizes."""
    for table in tables:
        await conn.execute(text(f'ANALYZE "{table}"'))
