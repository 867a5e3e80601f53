"""The edges state table, written in the same transaction as the edge's events.

Its primary key (follower_id, followee_id) backs the stream's unique (stream_id,
stream_version): a second UserFollowed without an unfollow between could never commit.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.events import Event, UserFollowed, UserUnfollowed
from microblog_shared.write.port import StateUpdate


def record(event: Event) -> StateUpdate:
    """The state change an edge event makes: insert the edge on follow, delete it on unfollow."""

    async def update(conn: AsyncConnection) -> None:
        if isinstance(event, UserFollowed):
            await conn.execute(
                text("INSERT INTO edges (follower_id, followee_id, followed_at) VALUES (:a, :b, :at)"),
                {"a": event.follower_id, "b": event.followee_id, "at": event.followed_at},
            )
        elif isinstance(event, UserUnfollowed):
            await conn.execute(
                text("DELETE FROM edges WHERE follower_id = :a AND followee_id = :b"),
                {"a": event.follower_id, "b": event.followee_id},
            )
        else:
            raise TypeError(f"edges have no state change for {type(event).__name__}")

    return update


async def is_following(engine: AsyncEngine, follower_id: int, followee_id: int) -> bool:
    """Whether the edge follower → followee exists now."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT 1 FROM edges WHERE follower_id = :a AND followee_id = :b"),
            {"a": follower_id, "b": followee_id},
        )
    return found is not None


async def counts(engine: AsyncEngine, user_id: int) -> tuple[int, int]:
    """How many edges end at the user (followers) and start from them (followed)."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("""SELECT (SELECT count(*) FROM edges WHERE followee_id = :u),
                               (SELECT count(*) FROM edges WHERE follower_id = :u)"""),
                {"u": user_id},
            )
        ).one()
    return int(row[0]), int(row[1])
