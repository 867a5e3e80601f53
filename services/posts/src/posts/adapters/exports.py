"""The export tables: written in the transaction of each export event, read directly by the API.

`exports` holds one row per task (its progress); `exported_posts` holds the file's rows, each
written with the ExportProgressed of its chunk. The worker's queries (which exports are
unfinished, the next chunk of posts) and the claim that keeps two exporters off one export
live here too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.events import Event, ExportCompleted, ExportProgressed, ExportRequested
from microblog_shared.write.eventstore import StateUpdate
from posts.exports import Export, ExportRunning

REQUESTED_CHANNEL = "exports_requested"  # NOTIFY on a new export, so an idle exporter wakes at once
CLAIM_LOCK = 7_000_101  # advisory-lock class of "an exporter works this export"
ONE_RUNNING = "exports_one_running_per_user"


@dataclass(frozen=True)
class PostRow:
    id: int
    body: str
    language: str
    created_at: datetime


def record(events: Sequence[Event], chunk: Sequence[PostRow] = ()) -> StateUpdate:
    """The state change of an export's events; `chunk` are the posts its ExportProgressed wrote out."""

    async def update(conn: AsyncConnection) -> None:
        for event in events:
            if isinstance(event, ExportRequested):
                await _insert(conn, event)
            elif isinstance(event, ExportProgressed):
                await _write_chunk(conn, event, chunk)
            elif isinstance(event, ExportCompleted):
                await conn.execute(
                    text("UPDATE exports SET completed_at = :at, progress = 100 WHERE task_id = :t"),
                    {"t": event.task_id, "at": event.completed_at},
                )
            else:
                raise TypeError(f"exports have no state change for {type(event).__name__}")

    return update


async def _insert(conn: AsyncConnection, event: ExportRequested) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(
                text("""INSERT INTO exports (task_id, user_id, name, description, total, requested_at)
                        VALUES (:t, :u, :name, :description, :total, :at)"""),
                {
                    "t": event.task_id,
                    "u": event.user_id,
                    "name": event.name,
                    "description": event.description,
                    "total": event.total,
                    "at": event.requested_at,
                },
            )
    except IntegrityError as exc:
        if ONE_RUNNING in str(exc.orig):
            raise ExportRunning() from None  # lost a race with another request of the same person
        raise
    await conn.execute(text("SELECT pg_notify(:c, :t)"), {"c": REQUESTED_CHANNEL, "t": event.task_id})


async def _write_chunk(conn: AsyncConnection, event: ExportProgressed, chunk: Sequence[PostRow]) -> None:
    await conn.execute(
        text("UPDATE exports SET exported = :n, progress = :p, after_post_id = :after WHERE task_id = :t"),
        {"t": event.task_id, "n": event.exported, "p": event.progress, "after": event.after_post_id},
    )
    await conn.execute(
        text("""INSERT INTO exported_posts (task_id, post_id, body, language, created_at)
                SELECT :t, * FROM unnest(CAST(:ids AS bigint[]), CAST(:bodies AS text[]),
                                         CAST(:languages AS text[]), CAST(:ats AS timestamptz[]))"""),
        {
            "t": event.task_id,
            "ids": [p.id for p in chunk],
            "bodies": [p.body for p in chunk],
            "languages": [p.language for p in chunk],
            "ats": [p.created_at for p in chunk],
        },
    )


# --- reads ------------------------------------------------------------------------------


async def running_for(engine: AsyncEngine, user_id: int) -> bool:
    """Whether the person has an export that hasn't completed."""
    async with engine.connect() as conn:
        return bool(
            await conn.scalar(
                text("SELECT EXISTS (SELECT FROM exports WHERE user_id = :u AND completed_at IS NULL)"), {"u": user_id}
            )
        )


async def post_count(engine: AsyncEngine, user_id: int) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM posts WHERE author_id = :u"), {"u": user_id})


async def task(engine: AsyncEngine, task_id: str, user_id: int) -> Export | None:
    """The person's export as its row stands, or None (also for someone else's)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM exports WHERE task_id = :t AND user_id = :u"), {"t": task_id, "u": user_id}
        )
        row = rows.first()
    if row is None:
        return None
    return Export(
        exists=True,
        task_id=str(row.task_id),
        user_id=row.user_id,
        name=row.name,
        description=row.description,
        total=row.total,
        exported=row.exported,
        progress=row.progress,
        after_post_id=row.after_post_id,
        requested_at=row.requested_at,
        complete=row.completed_at is not None,
    )


async def exported(engine: AsyncEngine, task_id: str) -> list:
    """The file's rows, oldest post first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM exported_posts WHERE task_id = :t ORDER BY created_at, post_id"), {"t": task_id}
        )
        return list(rows)


async def unfinished(engine: AsyncEngine) -> list[str]:
    """Every export not completed yet, the longest waiting first."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT task_id FROM exports WHERE completed_at IS NULL ORDER BY requested_at"))
        return [str(row.task_id) for row in rows]


async def next_posts(
    engine: AsyncEngine, user_id: int, after_post_id: int, written_by: datetime, limit: int
) -> list[PostRow]:
    """The author's next live posts after `after_post_id` in id order, of those written by `written_by`."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT id, body, language, created_at FROM posts
                    WHERE author_id = :u AND id > :after AND created_at <= :by ORDER BY id LIMIT :n"""),
            {"u": user_id, "after": after_post_id, "by": written_by, "n": limit},
        )
        return [PostRow(row.id, row.body, row.language, row.created_at) for row in rows]


@asynccontextmanager
async def claimed(engine: AsyncEngine, task_id: str) -> AsyncIterator[bool]:
    """Yields whether this process now works `task_id`; held until the block ends or the process dies.

    A transaction-scoped advisory lock: another exporter's try fails at once instead of waiting,
    and a killed exporter's lock goes with its connection.
    """
    async with engine.begin() as conn:
        yield bool(
            await conn.scalar(
                text("SELECT pg_try_advisory_xact_lock(:k, hashtext(:t))"), {"k": CLAIM_LOCK, "t": task_id}
            )
        )
