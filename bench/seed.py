"""Seeding through the event log: the write services' own event stores, as their handlers write.

Each fact is appended as the kit's event contracts (`microblog_shared.events`): the events,
stream ids and reservations identity's, social-graph's and posts' handlers record, many streams
per transaction with `EventStore.append_batch`; the state tables that handlers keep in the
append's transaction (identity `users`, social-graph `edges`) are written in that same
transaction. The id sequences are then moved past the seeded ids. The relays and the projector, already
running, carry the events to the bus and the read models like any others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from rich.progress import Progress
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.dataset import PASSWORD_HASH, SENTENCES, Dataset
from microblog_shared.events import PasswordSet, PostCreated, UserFollowed, UserRegistered
from microblog_shared.runtime.db import create_engine
from microblog_shared.write.eventstore import BatchAppend, EventStore, Reservation, StateUpdate

T = TypeVar("T")
BATCH = 2_000  # streams per transaction


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_insert(table: str, columns: dict[str, str], rows: list[tuple]) -> StateUpdate:
    """A state update inserting `rows` with one statement (`columns`: name -> SQL type)."""
    names = list(columns)
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns.items())
    statement = text(f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest({arrays})")

    async def update(conn: AsyncConnection) -> None:
        await conn.execute(statement, {name: [row[i] for row in rows] for i, name in enumerate(names)})

    return update


def post_created(post_id: int, author_id: int, body: str, language: str, at: datetime) -> BatchAppend:
    """A post's stream `post-<id>` opening with its PostCreated, as posts' handler appends it."""
    event = PostCreated(post_id=post_id, author_id=author_id, body=body, language=language, created_at=at)
    return (f"post-{post_id}", 0, [event], [])


POST_COLUMNS = {"id": "bigint", "author_id": "bigint", "body": "text", "language": "text", "created_at": "timestamptz"}


async def _advance(store: EventStore, sequence: str, last: int) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text("SELECT setval(CAST(:s AS regclass), :n)"), {"s": sequence, "n": last})


class Seeder:
    """Writes a dataset into the three write services' databases, with one progress bar each."""

    def __init__(self, data: Dataset, database_urls: dict[str, str], progress: Progress) -> None:
        self.data = data
        self.urls = database_urls
        self.progress = progress

    async def run(self) -> dict[str, float]:
        """Seconds per stage (users, follows, posts) and in all."""
        seconds = {}
        for stage in (self.users, self.follows, self.posts):
            started = time.monotonic()
            await stage()
            seconds[stage.__name__] = round(time.monotonic() - started, 1)
        seconds["total"] = round(sum(seconds.values()), 1)
        return seconds

    async def _write(
        self,
        database: str,
        producer: str,
        label: str,
        items: Sequence[T],
        prepare: Callable[[Sequence[T]], tuple[list, StateUpdate | None]],
    ) -> EventStore:
        engine = create_engine(self.urls[database])
        store = EventStore(engine, producer=producer)
        task = self.progress.add_task(label, total=len(items))
        for chunk in chunks(items, BATCH):
            appends, update_state = prepare(chunk)
            await store.append_batch(appends, update_state)
            self.progress.advance(task, len(chunk))
        return store

    async def users(self) -> None:
        """UserRegistered + PasswordSet per user, username and email reserved, `users` rows."""
        registered = self.data.now - timedelta(days=self.data.shape.days + 1)

        def prepare(ids: Sequence[int]):
            appends, rows = [], []
            for user_id in ids:
                username, email = self.data.usernames[user_id], self.data.email(user_id)
                at = registered + timedelta(seconds=user_id)
                events = [
                    UserRegistered(user_id=user_id, username=username, email=email, about_me="", registered_at=at),
                    PasswordSet(user_id=user_id, password_hash=PASSWORD_HASH),  # one hash for every account
                ]
                claims = [Reservation("username", username.lower()), Reservation("email", email.lower())]
                appends.append((f"user-{user_id}", 0, events, claims))
                rows.append((user_id, username, email, "", at, PASSWORD_HASH, None, len(events)))
            columns = {
                "id": "bigint",
                "username": "text",
                "email": "text",
                "about_me": "text",
                "registered_at": "timestamptz",
                "password_hash": "text",
                "last_seen": "timestamptz",
                "version": "int",
            }
            return appends, bulk_insert("users", columns, rows)

        ids = sorted(self.data.usernames)
        store = await self._write("identity", "identity", "identity: users", ids, prepare)
        await _advance(store, "user_ids", ids[-1])
        await store.engine.dispose()

    async def follows(self) -> None:
        """One UserFollowed per edge stream `follow-<a>-<b>`, and its `edges` row."""

        def prepare(edges: Sequence[tuple]):
            appends, rows = [], []
            for follower, followee, at in edges:
                event = UserFollowed(follower_id=follower, followee_id=followee, followed_at=at)
                appends.append((f"follow-{follower}-{followee}", 0, [event], []))
                rows.append((follower, followee, at))
            columns = {"follower_id": "bigint", "followee_id": "bigint", "followed_at": "timestamptz"}
            return appends, bulk_insert("edges", columns, rows)

        store = await self._write("social_graph", "social-graph", "social-graph: follows", self.data.follows, prepare)
        await store.engine.dispose()

    async def posts(self) -> None:
        """One PostCreated per post and its `posts` row, ids in time order, each sentence's language."""
        numbered = list(enumerate(self.data.posts, start=1))

        def prepare(batch: Sequence[tuple]):
            appends, rows = [], []
            for post_id, (author, created_at, sentence) in batch:
                words, language = SENTENCES[sentence]
                body = f"{words} #{post_id}"
                appends.append(post_created(post_id, author, body, language, created_at))
                rows.append((post_id, author, body, language, created_at))
            return appends, bulk_insert("posts", POST_COLUMNS, rows)

        store = await self._write("posts", "posts", "posts: posts", numbered, prepare)
        await _advance(store, "post_ids", len(numbered))
        await store.engine.dispose()
