"""The search projection: authors and posts in the read model, post states in the search index.

Post events fold into post states (domain/posts.py) that are kept in the read model's `posts`
table, which the read API also uses to show hits (so a rename shows at once, and a hit the
index returned for a post deleted since is left out). The changed states then go to the index:
for PostgreSQL in the same transaction, for Elasticsearch as idempotent versioned writes made
before the transaction (and its checkpoint) commits.

A replay applies the log in bulk (start_bulk/finish_bulk): the adapter sets its index
maintenance aside (the GIN index; Elasticsearch's refreshes and replicas) and post states are
read without row locks, the replay being the only writer of its version.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import (
    Envelope,
    Event,
    PostCreated,
    PostDeleted,
    PostEdited,
    UserProfileUpdated,
    UserRegistered,
)
from microblog_shared.read.bulk import analyze
from microblog_shared.read.projection import Projection, ProjectionSpec
from search_indexer.adapters import index_from
from search_indexer.adapters.index import SearchIndex
from search_indexer.domain.posts import Post, fold
from search_indexer.settings import SearchIndexerSettings

NAME = "search-indexer"
TOPICS = [UserRegistered.topic, PostCreated.topic]
TABLES = ["users", "posts"]
PostEvent = PostCreated | PostEdited | PostDeleted
ProfileEvent = UserRegistered | UserProfileUpdated


class SearchProjection(Projection):
    name = NAME
    topics = TOPICS

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.bulk = False

    @classmethod
    def from_settings(cls, settings: SearchIndexerSettings) -> SearchProjection:
        return cls(index_from(settings))

    async def apply(self, conn: AsyncConnection, event: Event, envelope: Envelope) -> None:
        await self.apply_many(conn, [(event, envelope)])

    async def start_bulk(self, conn: AsyncConnection) -> bool:
        await self.index.start_bulk(conn)
        self.bulk = True
        return True

    async def finish_bulk(self, conn: AsyncConnection) -> None:
        await self.index.finish_bulk(conn)
        await analyze(conn, TABLES)
        self.bulk = False

    async def apply_many(self, conn: AsyncConnection, events: list[tuple[Event, Envelope]]) -> None:
        await _save_authors(conn, [(e, env.stream_version) for e, env in events if isinstance(e, ProfileEvent)])
        posts = [(e, env.stream_version) for e, env in events if isinstance(e, PostEvent)]
        if posts:
            changed = await self.fold_posts(conn, posts)
            if changed:
                await _save_posts(conn, changed)
                await self.index.write(conn, changed)

    async def fold_posts(self, conn: AsyncConnection, events: Sequence[tuple[PostEvent, int]]) -> list[Post]:
        """The states of the posts these events change (loaded, then folded in order)."""
        states = await _load_posts(conn, sorted({e.post_id for e, _ in events}), lock=not self.bulk)
        changed: dict[int, Post] = {}
        for event, version in events:
            before = states.get(event.post_id)
            after = fold(event, before, version)
            assert after is not None  # a post event always leaves a post
            states[event.post_id] = after
            if after != before:
                changed[event.post_id] = after
        return list(changed.values())

    async def read_model_switched(self, previous: str, schema: str, drop_previous: bool) -> None:
        await self.index.read_model_switched(previous, schema, drop_previous)

    async def close(self) -> None:
        await self.index.close()


async def _save_authors(conn: AsyncConnection, events: Sequence[tuple[ProfileEvent, int]]) -> None:
    latest = {e.user_id: (e, v) for e, v in events}  # an upsert takes one row per user
    if not latest:
        return
    await conn.execute(
        text("""INSERT INTO users AS u (id, username, email, version)
                SELECT * FROM unnest(CAST(:id AS bigint[]), CAST(:u AS text[]), CAST(:e AS text[]), CAST(:v AS int[]))
                ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, email = EXCLUDED.email,
                                               version = EXCLUDED.version
                WHERE u.version < EXCLUDED.version"""),
        {
            "id": list(latest),
            "u": [e.username for e, _ in latest.values()],
            "e": [e.email for e, _ in latest.values()],
            "v": [v for _, v in latest.values()],
        },
    )


async def _load_posts(conn: AsyncConnection, post_ids: list[int], lock: bool) -> dict[int, Post]:
    rows = await conn.execute(
        text(f"""SELECT id, version, author_id, body, language, created_at, edited_at, deleted FROM posts
                 WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id {"FOR UPDATE" if lock else ""}"""),
        {"ids": post_ids},
    )
    return {
        r.id: Post(r.id, r.version, r.author_id, r.body, r.language, r.created_at, r.edited_at, r.deleted) for r in rows
    }


async def _save_posts(conn: AsyncConnection, posts: Sequence[Post]) -> None:
    # One JSON document of rows: psycopg quotes text arrays element by element in Python, which
    # costs more than the statement itself for a bulk batch of post bodies.
    await conn.execute(
        text("""INSERT INTO posts AS p (id, version, author_id, body, language, created_at, edited_at, deleted)
                SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS r(
                    id bigint, version int, author_id bigint, body text, language text,
                    created_at timestamptz, edited_at timestamptz, deleted boolean)
                ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, author_id = EXCLUDED.author_id,
                    body = EXCLUDED.body, language = EXCLUDED.language, created_at = EXCLUDED.created_at,
                    edited_at = EXCLUDED.edited_at, deleted = EXCLUDED.deleted"""),
        {
            "rows": orjson.dumps(
                [
                    {
                        "id": p.post_id,
                        "version": p.version,
                        "author_id": p.author_id,
                        "body": p.body,
                        "language": p.language,
                        "created_at": p.created_at,
                        "edited_at": p.edited_at,
                        "deleted": p.deleted,
                    }
                    for p in posts
                ]
            ).decode()
        },
    )


SPEC = ProjectionSpec(
    name=NAME, package="search_indexer", settings_class=SearchIndexerSettings, make=SearchProjection.from_settings
)
