"""The read side: the posts behind a page of hits, with their authors' current names, and the read model's state."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# What post_view shows of a post `p` and its author `u` (a post whose author is unknown yet has no name).
POST_COLUMNS = """p.id, p.body, p.language, p.created_at, p.edited_at, p.author_id,
                  coalesce(u.username, '') AS username, coalesce(u.email, '') AS email"""
SHOWN = "NOT p.deleted AND p.created_at IS NOT NULL"  # a post the read model shows


class ReadModelState(NamedTuple):
    """Which version is read (its schema) and how far its projector got: equal states read alike."""

    schema: str
    applied: int  # records applied, over every partition: grows with every batch the projector commits


async def read_model_state(conn: AsyncConnection, projection: str) -> ReadModelState:
    """The state this connection reads: index and posts change only with a batch, which moves a checkpoint."""
    row = (
        await conn.execute(
            text("""SELECT current_schema() AS schema, coalesce(sum(next_offset), 0) AS applied
                    FROM projection_checkpoints WHERE projection = :p"""),
            {"p": projection},
        )
    ).one()
    return ReadModelState(row.schema, int(row.applied))


async def posts_in_order(conn: AsyncConnection, post_ids: list[int]) -> list:
    """The searchable posts among `post_ids`, in that order (one the index still lists but that is gone is left out)."""
    if not post_ids:
        return []
    rows = await conn.execute(
        text(f"""SELECT {POST_COLUMNS}
                 FROM posts p LEFT JOIN users u ON u.id = p.author_id
                 WHERE p.id = ANY(CAST(:ids AS bigint[])) AND {SHOWN}"""),
        {"ids": post_ids},
    )
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in post_ids if i in by_id]
