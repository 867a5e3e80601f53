"""The read side: plain queries over the projection's tables, newest first, keyset-friendly.

They run on the psycopg connection under SQLAlchemy's (pooled, on the served read-model version) as
prepared statements, without SQLAlchemy's statement and result layers: on the hot reads those cost
about as much CPU as the driver itself.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.http.pagination import PageParams, encode_cursor
from microblog_shared.runtime.db import psycopg_connection

USERS = """SELECT u.id, u.username, u.email, u.about_me, u.last_seen, u.post_count, u.follower_count,
                  u.followed_count FROM users u"""
POSTS = """SELECT p.id, p.body, p.language, p.created_at, p.edited_at, p.author_id, u.username, u.email
           FROM posts p JOIN users u ON u.id = p.author_id"""


async def fetch(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> list[Any]:
    """The rows of `sql` (psycopg `%(name)s` parameters), each with its columns as attributes."""
    driver = await psycopg_connection(conn)
    async with driver.cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(sql, params, prepare=True)
        return await cursor.fetchall()


async def fetch_one(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> Any:
    """The first row, or None."""
    rows = await fetch(conn, sql, params)
    return rows[0] if rows else None


async def value(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> Any:
    """The first column of the first row, or None."""
    row = await fetch_one(conn, sql, params)
    return row[0] if row else None


def keyset(page: PageParams) -> dict:
    """SQL parameters `kt`, `ki` of a (timestamp, id) keyset cursor; no cursor starts at the newest."""
    after = page.after_time_and_id()
    if after is None:
        return {"kt": "infinity", "ki": 2**62}
    return {"kt": after[0], "ki": after[1]}


def next_post_cursor(rows) -> str | None:
    return encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if rows else None


async def total(conn: AsyncConnection, name: str) -> int:
    return await value(conn, "SELECT value FROM totals WHERE name = %(n)s", {"n": name}) or 0


# --- users -------------------------------------------------------------------------------


async def user(conn: AsyncConnection, user_id: int):
    return await fetch_one(conn, f"{USERS} WHERE u.id = %(id)s AND u.registered_at IS NOT NULL", {"id": user_id})


async def user_by_name(conn: AsyncConnection, username: str):
    return await fetch_one(
        conn,
        f"{USERS} WHERE lower(u.username) = lower(%(n)s) AND u.registered_at IS NOT NULL ORDER BY u.id LIMIT 1",
        {"n": username},
    )


async def following_among(conn: AsyncConnection, viewer_id: int, user_ids: list[int]) -> set[int]:
    rows = await fetch(
        conn,
        "SELECT followee_id FROM follows WHERE follower_id = %(v)s AND followee_id = ANY(%(ids)s)",
        {"v": viewer_id, "ids": user_ids},
    )
    return {r.followee_id for r in rows}


async def users(conn: AsyncConnection, page: PageParams) -> tuple[list[Any], int, str | None]:
    after = page.after_id() or 0
    rows = await fetch(
        conn,
        f"""{USERS} WHERE u.registered_at IS NOT NULL AND u.id > %(after)s
            ORDER BY u.id LIMIT %(n)s OFFSET %(o)s""",
        {"after": after, "n": page.per_page, "o": page.offset},
    )
    return rows, await total(conn, "users"), encode_cursor(rows[-1].id) if rows else None


async def follow_list(conn: AsyncConnection, user_id: int, direction: str, page: PageParams):
    """Followers (direction "followers") or followed users of `user_id`, most recent follow first."""
    this, other = ("followee_id", "follower_id") if direction == "followers" else ("follower_id", "followee_id")
    rows = await fetch(
        conn,
        f"""{USERS} JOIN follows f ON f.{other} = u.id
                 WHERE f.{this} = %(id)s AND (f.followed_at, u.id) < (CAST(%(kt)s AS timestamptz), %(ki)s)
                       AND u.registered_at IS NOT NULL
                 ORDER BY f.followed_at DESC, u.id DESC LIMIT %(n)s OFFSET %(o)s""",
        {"id": user_id, "n": page.per_page, "o": page.offset, **keyset(page)},
    )
    count_column = "follower_count" if direction == "followers" else "followed_count"
    count = await value(conn, f"SELECT {count_column} FROM users WHERE id = %(id)s", {"id": user_id})
    last = None
    if rows:
        followed_at = await value(
            conn,
            f"SELECT followed_at FROM follows WHERE {this} = %(id)s AND {other} = %(o)s",
            {"id": user_id, "o": rows[-1].id},
        )
        last = encode_cursor(followed_at.isoformat(), rows[-1].id)
    return rows, count or 0, last


# --- posts -------------------------------------------------------------------------------


async def post(conn: AsyncConnection, post_id: int):
    return await fetch_one(conn, f"{POSTS} WHERE p.id = %(id)s", {"id": post_id})


async def user_posts(conn: AsyncConnection, user_id: int, page: PageParams):
    rows = await fetch(
        conn,
        f"""{POSTS} WHERE p.author_id = %(a)s AND (p.created_at, p.id) < (CAST(%(kt)s AS timestamptz), %(ki)s)
                 ORDER BY p.created_at DESC, p.id DESC LIMIT %(n)s OFFSET %(o)s""",
        {"a": user_id, "n": page.per_page, "o": page.offset, **keyset(page)},
    )
    count = await value(conn, "SELECT post_count FROM users WHERE id = %(id)s", {"id": user_id})
    return rows, count or 0, next_post_cursor(rows)


async def explore(conn: AsyncConnection, page: PageParams):
    rows = await fetch(
        conn,
        f"""{POSTS} WHERE (p.created_at, p.id) < (CAST(%(kt)s AS timestamptz), %(ki)s)
                 ORDER BY p.created_at DESC, p.id DESC LIMIT %(n)s OFFSET %(o)s""",
        {"n": page.per_page, "o": page.offset, **keyset(page)},
    )
    return rows, await total(conn, "posts"), next_post_cursor(rows)
