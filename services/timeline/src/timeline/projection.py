"""The timeline projection: users with their counts, follows, posts and home timelines.

Events are applied in runs: consecutive events of one type in a polled batch go to the
database together, as a few set-based statements instead of a few statements each. The result
is the one applying them one at a time would give (the home-timeline read path unions what was
fanned out with what it merges at read time, so when within a run a celebrity is marked makes
no difference to what readers see).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import (
    Envelope,
    Event,
    PostCreated,
    PostDeleted,
    PostEdited,
    UserFollowed,
    UserProfileUpdated,
    UserRegistered,
    UserSeen,
    UserUnfollowed,
)
from microblog_shared.read.bulk import analyze, build_indexes, set_indexes_aside
from microblog_shared.read.projection import Projection, ProjectionSpec
from timeline.fanout import HomeTimelines
from timeline.settings import TimelineSettings

# A handler of a run of events of one type (the list is of the type it is registered for).
RunHandler = Callable[[AsyncConnection, list[Any]], Awaitable[None]]

NAME = "timeline"
TOPICS = [UserRegistered.topic, UserFollowed.topic, PostCreated.topic]
# A replay loads these without their secondary indexes and builds them once at the end: the
# model's before the homes are built from it, the homes' (primary keys too) after.
MODEL_TABLES = ["users", "posts", "follows"]
HOME_TABLES = ["home_entries", "home_state"]


class TimelineProjection(Projection):
    name = NAME
    topics = TOPICS

    def __init__(self, home_timeline_cap: int = 800, celebrity_followers: int = 10_000) -> None:
        self.homes = HomeTimelines(home_timeline_cap, celebrity_followers)
        # A replay applies the log with homes left aside, then builds them in one pass
        # (finish_bulk): a replay meets most posts before the follows, and keeping homes current
        # on the way would backfill and trim them over and over.
        # It also sets the secondary indexes aside and builds them once at the end, and needs no
        # row locks: it is the only writer of the version it builds.
        self.bulk = False
        self.indexes_aside: tuple[list[str], list[str]] = ([], [])  # (of the model tables, of the homes)
        self.handlers: dict[type[Event], RunHandler] = {
            UserRegistered: _registered,
            UserProfileUpdated: _profiles_updated,
            UserSeen: _seen,
            UserFollowed: self._followed,
            UserUnfollowed: self._unfollowed,
            PostCreated: self._posts_created,
            PostEdited: _posts_edited,
            PostDeleted: self._posts_deleted,
        }

    @classmethod
    def from_settings(cls, settings: TimelineSettings) -> TimelineProjection:
        return cls(settings.home_timeline_cap, settings.celebrity_followers)

    async def apply(self, conn: AsyncConnection, event: Event, envelope: Envelope) -> None:
        await self.apply_many(conn, [(event, envelope)])

    async def start_bulk(self, conn: AsyncConnection) -> bool:
        self.bulk = True
        self.indexes_aside = (
            await set_indexes_aside(conn, MODEL_TABLES),
            await set_indexes_aside(conn, HOME_TABLES, keys=True),
        )
        return True

    async def finish_bulk(self, conn: AsyncConnection) -> None:
        model, homes = self.indexes_aside
        await build_indexes(conn, model)
        await analyze(conn, MODEL_TABLES)
        await self.homes.rebuild(conn)
        await build_indexes(conn, homes)
        await analyze(conn, HOME_TABLES)
        self.bulk, self.indexes_aside = False, ([], [])

    async def apply_many(self, conn: AsyncConnection, events: list[tuple[Event, Envelope]]) -> None:
        # Every user row the batch will lock, locked first and in id order: a replica applying
        # another batch then waits for this one instead of deadlocking with it halfway.
        await self._lock_authors(conn, sorted({user_id for event, _ in events for user_id in _users_of(event)}))
        for kind, run in groupby((event for event, _ in events), key=type):
            handler = self.handlers.get(kind)
            if handler is not None:
                await handler(conn, list(run))

    async def _followed(self, conn: AsyncConnection, events: list[UserFollowed]) -> None:
        await self._lock_authors(conn, [e.followee_id for e in events], also=[e.follower_id for e in events])
        added = (
            await conn.execute(
                text("""INSERT INTO follows
                    SELECT * FROM unnest(CAST(:f AS bigint[]), CAST(:e AS bigint[]), CAST(:t AS timestamptz[]))
                    ON CONFLICT DO NOTHING RETURNING follower_id, followee_id"""),
                {
                    "f": [e.follower_id for e in events],
                    "e": [e.followee_id for e in events],
                    "t": [e.followed_at for e in events],
                },
            )
        ).all()
        if not added:
            return
        await _follow_counts(conn, added, +1)
        await self.homes.mark_celebrities(conn, sorted({a.followee_id for a in added}))
        if not self.bulk:
            await self.homes.backfill(conn, added)

    async def _unfollowed(self, conn: AsyncConnection, events: list[UserUnfollowed]) -> None:
        await self._lock_authors(conn, [e.followee_id for e in events], also=[e.follower_id for e in events])
        removed = (
            await conn.execute(
                text("""DELETE FROM follows f USING unnest(CAST(:f AS bigint[]), CAST(:e AS bigint[])) x(f, e)
                    WHERE f.follower_id = x.f AND f.followee_id = x.e RETURNING f.follower_id, f.followee_id"""),
                {"f": [e.follower_id for e in events], "e": [e.followee_id for e in events]},
            )
        ).all()
        if removed:
            await _follow_counts(conn, removed, -1)
            if not self.bulk:
                await self.homes.remove_authors(conn, removed)

    async def _posts_created(self, conn: AsyncConnection, events: list[PostCreated]) -> None:
        await self._lock_authors(conn, [e.author_id for e in events])
        added = (
            await conn.execute(
                text("""INSERT INTO posts (id, author_id, body, language, created_at)
                    SELECT * FROM unnest(CAST(:id AS bigint[]), CAST(:a AS bigint[]), CAST(:b AS text[]),
                                         CAST(:l AS text[]), CAST(:t AS timestamptz[]))
                    ON CONFLICT (id) DO NOTHING RETURNING id, author_id, created_at"""),
                {
                    "id": [e.post_id for e in events],
                    "a": [e.author_id for e in events],
                    "b": [e.body for e in events],
                    "l": [e.language for e in events],
                    "t": [e.created_at for e in events],
                },
            )
        ).all()
        if added:
            await _post_counts(conn, [a.author_id for a in added], +1)
            if not self.bulk:
                await self.homes.fan_out(conn, added)

    async def _lock_authors(self, conn: AsyncConnection, author_ids: Sequence[int], also: Sequence[int] = ()) -> None:
        """Serialise what touches one author's posts and followers across projector replicas.

        A follow's backfill reads posts and a new post's fan-out reads follows: without this lock
        two replicas could each miss the other's uncommitted row (write skew) and lose a home
        entry. Rows are locked in id order, so two replicas never wait on each other in a cycle.
        A replay's bulk phase is the only writer of its version and builds homes at the end.
        """
        await _ensure_users(conn, sorted({*author_ids, *also}))
        if self.bulk:
            return
        await conn.execute(
            text("SELECT 1 FROM users WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"),
            {"ids": sorted(set(author_ids))},
        )

    async def _posts_deleted(self, conn: AsyncConnection, events: list[PostDeleted]) -> None:
        deleted = (
            await conn.execute(
                text("DELETE FROM posts WHERE id = ANY(CAST(:ids AS bigint[])) RETURNING id, author_id"),
                {"ids": [e.post_id for e in events]},
            )
        ).all()
        if deleted:
            await _post_counts(conn, [d.author_id for d in deleted], -1)
            if not self.bulk:
                await self.homes.remove_posts(conn, [d.id for d in deleted])


async def _registered(conn: AsyncConnection, events: list[UserRegistered]) -> None:
    await _ensure_users(conn, [e.user_id for e in events])
    await conn.execute(
        # As the seed, an account is seen when it is made; a later sighting may have come first.
        text("""UPDATE users u SET username = x.u, email = x.e, about_me = x.m, registered_at = x.t,
                                   last_seen = greatest(u.last_seen, x.t)
                FROM unnest(CAST(:id AS bigint[]), CAST(:u AS text[]), CAST(:e AS text[]), CAST(:m AS text[]),
                            CAST(:t AS timestamptz[])) x(id, u, e, m, t)
                WHERE u.id = x.id"""),
        {
            "id": [e.user_id for e in events],
            "u": [e.username for e in events],
            "e": [e.email for e in events],
            "m": [e.about_me for e in events],
            "t": [e.registered_at for e in events],
        },
    )
    await _count(conn, "users", len(events))


async def _profiles_updated(conn: AsyncConnection, events: list[UserProfileUpdated]) -> None:
    latest = list({e.user_id: e for e in events}.values())  # an UPDATE ... FROM takes one row per user
    await conn.execute(
        text("""UPDATE users u SET username = x.u, email = x.e, about_me = x.m
                FROM unnest(CAST(:id AS bigint[]), CAST(:u AS text[]), CAST(:e AS text[]), CAST(:m AS text[]))
                     x(id, u, e, m)
                WHERE u.id = x.id"""),
        {
            "id": [e.user_id for e in latest],
            "u": [e.username for e in latest],
            "e": [e.email for e in latest],
            "m": [e.about_me for e in latest],
        },
    )


async def _seen(conn: AsyncConnection, events: list[UserSeen]) -> None:
    seen: dict[int, datetime] = {}
    for e in events:
        seen[e.user_id] = max(seen.get(e.user_id, e.last_seen), e.last_seen)
    await conn.execute(
        text("""UPDATE users u SET last_seen = greatest(u.last_seen, x.t)
                FROM unnest(CAST(:id AS bigint[]), CAST(:t AS timestamptz[])) x(id, t) WHERE u.id = x.id"""),
        {"id": list(seen), "t": list(seen.values())},
    )


async def _posts_edited(conn: AsyncConnection, events: list[PostEdited]) -> None:
    latest = list({e.post_id: e for e in events}.values())
    await conn.execute(
        text("""UPDATE posts p SET body = x.b, language = x.l, edited_at = x.t
                FROM unnest(CAST(:id AS bigint[]), CAST(:b AS text[]), CAST(:l AS text[]), CAST(:t AS timestamptz[]))
                     x(id, b, l, t)
                WHERE p.id = x.id"""),
        {
            "id": [e.post_id for e in latest],
            "b": [e.body for e in latest],
            "l": [e.language for e in latest],
            "t": [e.edited_at for e in latest],
        },
    )


async def _ensure_users(conn: AsyncConnection, user_ids: Sequence[int]) -> None:
    """Events of one user can arrive before their registration (other topics): keep a row to count on."""
    await conn.execute(
        text("INSERT INTO users (id) SELECT DISTINCT unnest(CAST(:ids AS bigint[])) ON CONFLICT DO NOTHING"),
        {"ids": list(user_ids)},
    )


def _users_of(event: Event) -> list[int]:
    """The users whose rows applying `event` may insert or lock: the user, the author, both ends of a follow."""
    return [
        getattr(event, field)
        for field in ("user_id", "author_id", "follower_id", "followee_id")
        if hasattr(event, field)
    ]


async def _follow_counts(conn: AsyncConnection, edges: Sequence, delta: int) -> None:
    await conn.execute(
        text("""UPDATE users u SET followed_count = u.followed_count + :d * x.followed,
                                   follower_count = u.follower_count + :d * x.followers
                FROM (SELECT id, sum(followed) AS followed, sum(followers) AS followers FROM (
                        SELECT unnest(CAST(:f AS bigint[])) AS id, 1 AS followed, 0 AS followers
                        UNION ALL SELECT unnest(CAST(:e AS bigint[])), 0, 1) edges GROUP BY id) x
                WHERE u.id = x.id"""),
        {"d": delta, "f": [e.follower_id for e in edges], "e": [e.followee_id for e in edges]},
    )


async def _post_counts(conn: AsyncConnection, author_ids: list[int], delta: int) -> None:
    await conn.execute(
        text("""UPDATE users u SET post_count = u.post_count + :d * x.n
                FROM (SELECT a, count(*) AS n FROM unnest(CAST(:a AS bigint[])) a GROUP BY a) x WHERE u.id = x.a"""),
        {"d": delta, "a": author_ids},
    )
    await _count(conn, "posts", delta * len(author_ids))


async def _count(conn: AsyncConnection, name: str, delta: int) -> None:
    await conn.execute(
        text("""INSERT INTO totals VALUES (:n, :d) ON CONFLICT (name) DO UPDATE SET value = totals.value + :d"""),
        {"n": name, "d": delta},
    )


SPEC = ProjectionSpec(
    name=NAME, package="timeline", settings_class=TimelineSettings, make=TimelineProjection.from_settings
)
