"""The read side: plain queries over the projection's tables, newest first, keyset-friendly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.http.pagination import PageParams, encode_cursor

USERS = """SELECT u.id, u.username, u.email, u.about_me, u.last_seen, u.post_count, u.follower_count,
                  u.followed_count FROM users u"""
POSTS = """SELECT p.id, p.body, p.language, p.created_at, p.edited_at, p.author_id, u.username, u.email
           FROM posts p JOIN users u ON u.id = p.author_id"""


def keyset(page: PageParams) -> dict:
    """SQL parameters `kt`, `ki` of a (timestamp, id) keyset cursor; no cursor starts at the newest."""
    after = page.after_time_and_id()
    if after is None:
        return {"kt": "infinity", "ki": 2**62}
    return {"kt": after[0], "ki": after[1]}


def next_post_cursor(rows) -> str | None:
    return encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if rows else None


async def total(conn: AsyncConnection, name: str) -> int:
    return await conn.scalar(text("SELECT value FROM totals WHERE name = :n"), {"n": name}) or 0


# --- users -------------------------------------------------------------------------------


async def user(conn: AsyncConnection, user_id: int):
    return (
        await conn.execute(text(f"{USERS} WHERE u.id = :id AND u.registered_at IS NOT NULL"), {"id": user_id})
    ).first()


async def user_by_name(conn: AsyncConnection, username: str):
    return (
        await conn.execute(
            text(f"{USERS} WHERE lower(u.username) = lower(:n) AND u.registered_at IS NOT NULL ORDER BY u.id LIMIT 1"),
            {"n": username},
        )
    ).first()


async def following_among(conn: AsyncConnection, viewer_id: int, user_ids: list[int]) -> set[int]:
    rows = await conn.execute(
        text("SELECT followee_id FROM follows WHERE follower_id = :v AND followee_id = ANY(:ids)"),
        {"v": viewer_id, "ids": user_ids},
    )
    return {r.followee_id for r in rows}


async def users(conn: AsyncConnection, page: PageParams) -> tuple[Sequence[Row[Any]], int, str | None]:
    after = page.after_id() or 0
    rows = (
        await conn.execute(
            text(f"{USERS} WHERE u.registered_at IS NOT NULL AND u.id > :after ORDER BY u.id LIMIT :n OFFSET :o"),
            {"after": after, "n": page.per_page, "o": page.offset},
        )
    ).all()
    return rows, await total(conn, "users"), encode_cursor(rows[-1].id) if rows else None


async def follow_list(conn: AsyncConnection, user_id: int, direction: str, page: PageParams):
    """Followers (direction "followers") or followed users of `user_id`, most recent follow first."""
    this, other = ("followee_id", "follower_id") if direction == "followers" else ("follower_id", "followee_id")
    rows = (
        await conn.execute(
            text(f"""{USERS} JOIN follows f ON f.{other} = u.id
                 WHERE f.{this} = :id AND (f.followed_at, u.id) < (CAST(:kt AS timestamptz), :ki)
                       AND u.registered_at IS NOT NULL
                 ORDER BY f.followed_at DESC, u.id DESC LIMIT :n OFFSET :o"""),
            {"id": user_id, "n": page.per_page, "o": page.offset, **keyset(page)},
        )
    ).all()
    count_column = "follower_count" if direction == "followers" else "followed_count"
    count = await conn.scalar(text(f"SELECT {count_column} FROM users WHERE id = :id"), {"id": user_id})
    last = None
    if rows:
        followed_at = await conn.scalar(
            text(f"SELECT followed_at FROM follows WHERE {this} = :id AND {other} = :o"),
            {"id": user_id, "o": rows[-1].id},
        )
        last = encode_cursor(followed_at.isoformat(), rows[-1].id)
    return rows, count or 0, last


# --- posts -------------------------------------------------------------------------------


async def post(conn: AsyncConnection, post_id: int):
    return (await conn.execute(text(f"{POSTS} WHERE p.id = :id"), {"id": post_id})).first()


async def user_posts(conn: AsyncConnection, user_id: int, page: PageParams):
    rows = (
        await conn.execute(
            text(f"""{POSTS} WHERE p.author_id = :a AND (p.created_at, p.id) < (CAST(:kt AS timestamptz), :ki)
                 ORDER BY p.created_at DESC, p.id DESC LIMIT :n OFFSET :o"""),
            {"a": user_id, "n": page.per_page, "o": page.offset, **keyset(page)},
        )
    ).all()
    count = await conn.scalar(text("SELECT post_count FROM users WHERE id = :id"), {"id": user_id})
    return rows, count or 0, next_post_cursor(rows)


async def explore(conn: AsyncConnection, page: PageParams):
    rows = (
        await conn.execute(
            text(f"""{POSTS} WHERE (p.created_at, p.id) < (CAST(:kt AS timestamptz), :ki)
                 ORDER BY p.created_at DESC, p.id DESC LIMIT :n OFFSET :o"""),
            {"n": page.per_page, "o": page.offset, **keyset(page)},
        )
    ).all()
    return rows, await total(conn, "posts"), next_post_cursor(rows)
