"""The read side: the posts behind a page of hits, with their authors' current names."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def posts_in_order(conn: AsyncConnection, post_ids: list[int]) -> list:
    """The searchable posts among `post_ids`, in that order (one the index still lists but that is gone is left out)."""
    if not post_ids:
        return []
    rows = await conn.execute(
        text("""SELECT p.id, p.body, p.language, p.created_at, p.edited_at, p.author_id,
                       coalesce(u.username, '') AS username, coalesce(u.email, '') AS email
                FROM posts p LEFT JOIN users u ON u.id = p.author_id
                WHERE p.id = ANY(CAST(:ids AS bigint[])) AND NOT p.deleted AND p.created_at IS NOT NULL"""),
        {"ids": post_ids},
    )
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in post_ids if i in by_id]
