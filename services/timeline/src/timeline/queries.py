"""The read side: plain queries over the projection's tables."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.pagination import PageParams


async def user_exists(conn: AsyncConnection, user_id: int) -> bool:
    return bool(await conn.scalar(text("SELECT 1 FROM users WHERE id = :id"), {"id": user_id}))


async def user_posts(conn: AsyncConnection, user_id: int, page: PageParams) -> tuple[list[dict], int]:
    """A user's posts, newest first, and how many there are."""
    total = await conn.scalar(text("SELECT count(*) FROM posts WHERE author_id = :a"), {"a": user_id})
    rows = await conn.execute(
        text("""SELECT p.id, p.body, p.created_at, u.id AS author_id, u.username
                FROM posts p JOIN users u ON u.id = p.author_id
                WHERE p.author_id = :a ORDER BY p.created_at DESC, p.id DESC LIMIT :n OFFSET :o"""),
        {"a": user_id, "n": page.per_page, "o": page.offset},
    )
    return [post_view(r) for r in rows], total


def post_view(row) -> dict:
    return {
        "id": row.id,
        "body": row.body,
        "timestamp": row.created_at.isoformat().replace("+00:00", "Z"),
        "author": {"id": row.author_id, "username": row.username, "_links": {"self": f"/api/users/{row.author_id}"}},
        "_links": {"self": f"/api/posts/{row.id}", "author": f"/api/users/{row.author_id}"},
    }
