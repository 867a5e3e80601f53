"""The timeline projection: users with their counts, follows, posts and home timelines."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import (
    Envelope, Event, PostCreated, PostDeleted, PostEdited, UserFollowed, UserProfileUpdated, UserRegistered,
    UserSeen, UserUnfollowed,
)
from timeline.fanout import HomeTimelines
from timeline.settings import TimelineSettings

NAME = "timeline"
TOPICS = [UserRegistered.topic, UserFollowed.topic, PostCreated.topic]


class TimelineProjection:
    name = NAME
    topics = TOPICS

    def __init__(self, home_timeline_cap: int = 800, celebrity_followers: int = 10_000) -> None:
        self.homes = HomeTimelines(home_timeline_cap, celebrity_followers)

    @classmethod
    def from_settings(cls, settings: TimelineSettings) -> "TimelineProjection":
        return cls(settings.home_timeline_cap, settings.celebrity_followers)

    async def apply(self, conn: AsyncConnection, event: Event, envelope: Envelope) -> None:
        match event:
            case UserRegistered():
                await _ensure_user(conn, event.user_id)
                await conn.execute(
                    text("""UPDATE users SET username = :u, email = :e, about_me = :m, registered_at = :t
                            WHERE id = :id"""),
                    {"id": event.user_id, "u": event.username, "e": event.email, "m": event.about_me,
                     "t": event.registered_at},
                )
                await _count(conn, "users", 1)
            case UserProfileUpdated():
                await conn.execute(
                    text("UPDATE users SET username = :u, email = :e, about_me = :m WHERE id = :id"),
                    {"id": event.user_id, "u": event.username, "e": event.email, "m": event.about_me},
                )
            case UserSeen():
                await conn.execute(
                    text("UPDATE users SET last_seen = greatest(last_seen, :t) WHERE id = :id"),
                    {"id": event.user_id, "t": event.last_seen},
                )
            case UserFollowed():
                await self._follow(conn, event)
            case UserUnfollowed():
                await self._unfollow(conn, event)
            case PostCreated():
                await self._post(conn, event)
            case PostEdited():
                await conn.execute(
                    text("UPDATE posts SET body = :b, language = :l, edited_at = :t WHERE id = :id"),
                    {"id": event.post_id, "b": event.body, "l": event.language, "t": event.edited_at},
                )
            case PostDeleted():
                deleted = await conn.scalar(text("DELETE FROM posts WHERE id = :id RETURNING author_id"),
                                            {"id": event.post_id})
                if deleted is not None:
                    await conn.execute(text("UPDATE users SET post_count = post_count - 1 WHERE id = :a"),
                                       {"a": deleted})
                    await _count(conn, "posts", -1)
                    await self.homes.remove_post(conn, event.post_id)

    async def _follow(self, conn: AsyncConnection, event: UserFollowed) -> None:
        await _lock_author(conn, event.followee_id)
        added = await conn.scalar(
            text("""INSERT INTO follows VALUES (:f, :e, :t) ON CONFLICT DO NOTHING RETURNING follower_id"""),
            {"f": event.follower_id, "e": event.followee_id, "t": event.followed_at},
        )
        if added is None:
            return
        await _follow_counts(conn, event.follower_id, event.followee_id, +1)
        await self.homes.mark_celebrity(conn, event.followee_id)
        await self.homes.backfill(conn, event.follower_id, event.followee_id)

    async def _unfollow(self, conn: AsyncConnection, event: UserUnfollowed) -> None:
        await _lock_author(conn, event.followee_id)
        removed = await conn.scalar(
            text("DELETE FROM follows WHERE follower_id = :f AND followee_id = :e RETURNING follower_id"),
            {"f": event.follower_id, "e": event.followee_id},
        )
        if removed is None:
            return
        await _follow_counts(conn, event.follower_id, event.followee_id, -1)
        await self.homes.remove_author(conn, event.follower_id, event.followee_id)

    async def _post(self, conn: AsyncConnection, event: PostCreated) -> None:
        await _lock_author(conn, event.author_id)
        added = await conn.scalar(
            text("""INSERT INTO posts (id, author_id, body, language, created_at) VALUES (:id, :a, :b, :l, :t)
                    ON CONFLICT (id) DO NOTHING RETURNING id"""),
            {"id": event.post_id, "a": event.author_id, "b": event.body, "l": event.language, "t": event.created_at},
        )
        if added is None:
            return
        await conn.execute(text("UPDATE users SET post_count = post_count + 1 WHERE id = :a"), {"a": event.author_id})
        await _count(conn, "posts", 1)
        await self.homes.fan_out(conn, event.post_id, event.author_id, event.created_at)


async def _ensure_user(conn: AsyncConnection, user_id: int) -> None:
    """Events of one user can arrive before their registration (other topics): keep a row to count on."""
    await conn.execute(text("INSERT INTO users (id) VALUES (:id) ON CONFLICT DO NOTHING"), {"id": user_id})


async def _lock_author(conn: AsyncConnection, author_id: int) -> None:
    """Serialise what touches one author's posts and followers across projector replicas.

    A follow's backfill reads posts and a new post's fan-out reads follows: without this lock two
    replicas could each miss the other's uncommitted row (write skew) and lose a home entry.
    """
    await _ensure_user(conn, author_id)
    await conn.execute(text("SELECT 1 FROM users WHERE id = :id FOR UPDATE"), {"id": author_id})


async def _follow_counts(conn: AsyncConnection, follower_id: int, followee_id: int, delta: int) -> None:
    await _ensure_user(conn, follower_id)
    await _ensure_user(conn, followee_id)
    await conn.execute(text("UPDATE users SET followed_count = followed_count + :d WHERE id = :f"),
                       {"d": delta, "f": follower_id})
    await conn.execute(text("UPDATE users SET follower_count = follower_count + :d WHERE id = :e"),
                       {"d": delta, "e": followee_id})


async def _count(conn: AsyncConnection, name: str, delta: int) -> None:
    await conn.execute(
        text("""INSERT INTO totals VALUES (:n, :d) ON CONFLICT (name) DO UPDATE SET value = totals.value + :d"""),
        {"n": name, "d": delta},
    )
