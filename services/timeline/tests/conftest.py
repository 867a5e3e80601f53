"""A timeline app and its projector on a real bus; events are published as the relays would."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from microblog_shared.bus import Record
from microblog_shared.events import (
    Envelope,
    PostCreated,
    PostDeleted,
    PostEdited,
    UserFollowed,
    UserProfileUpdated,
    UserRegistered,
    UserSeen,
    UserUnfollowed,
    registry,
)
from microblog_shared.read.projection import ProjectionRunner
from microblog_shared.runtime.db import create_engine
from microblog_shared.runtime.settings import Settings
from timeline.app import create_app
from timeline.projection import TimelineProjection

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)


class World:
    """Writes facts the way the write services would, and reads through the timeline API."""

    def __init__(self, bus, client) -> None:
        self.bus, self.client = bus, client
        self.versions: dict[str, int] = defaultdict(int)
        self.last_token: str | None = None
        self.unsettled = False
        self.clock = 0

    def tick(self) -> datetime:
        self.clock += 1
        return T0 + timedelta(seconds=self.clock)

    async def emit(self, stream_id: str, event) -> None:
        self.versions[stream_id] += 1
        envelope = Envelope(
            type=event.type_name,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=self.versions[stream_id],
            producer="test",
            payload=event.model_dump(mode="json"),
        )
        topic = registry.contract(event.type_name).topic
        await self.bus.publish(topic, [Record(key=stream_id, value=envelope.to_bytes())])
        self.last_token = f"{topic}:{stream_id}:{envelope.stream_version}"
        self.unsettled = True

    async def register(self, user_id: int, name: str | None = None) -> None:
        name = name or f"user{user_id}"
        await self.emit(
            f"user-{user_id}",
            UserRegistered(user_id=user_id, username=name, email=f"{name}@example.com", registered_at=self.tick()),
        )

    async def rename(self, user_id: int, name: str, about_me: str = "") -> None:
        await self.emit(
            f"user-{user_id}",
            UserProfileUpdated(
                user_id=user_id, username=name, email=f"{name}@example.com", about_me=about_me, updated_at=self.tick()
            ),
        )

    async def seen(self, user_id: int, at: datetime) -> None:
        await self.emit(f"user-{user_id}", UserSeen(user_id=user_id, last_seen=at))

    async def follow(self, follower: int, followee: int) -> None:
        await self.emit(
            f"follow-{follower}-{followee}",
            UserFollowed(follower_id=follower, followee_id=followee, followed_at=self.tick()),
        )

    async def unfollow(self, follower: int, followee: int) -> None:
        await self.emit(
            f"follow-{follower}-{followee}",
            UserUnfollowed(follower_id=follower, followee_id=followee, unfollowed_at=self.tick()),
        )

    async def post(self, post_id: int, author: int, body: str | None = None, language: str = "en") -> None:
        await self.emit(
            f"post-{post_id}",
            PostCreated(
                post_id=post_id,
                author_id=author,
                body=body or f"post {post_id}",
                language=language,
                created_at=self.tick(),
            ),
        )

    async def edit(self, post_id: int, author: int, body: str) -> None:
        await self.emit(
            f"post-{post_id}",
            PostEdited(post_id=post_id, author_id=author, body=body, language="en", edited_at=self.tick()),
        )

    async def delete(self, post_id: int, author: int) -> None:
        await self.emit(f"post-{post_id}", PostDeleted(post_id=post_id, author_id=author, deleted_at=self.tick()))

    async def get(self, path: str, viewer: int | None = None, **params):
        """A read after every write so far is applied (a token covers one stream, and on Kafka the
        streams of a test land in different partitions, so the world settles first)."""
        if self.unsettled:
            await self.settle()
        headers = {"X-Consistency-Token": self.last_token} if self.last_token else {}
        if viewer is not None:
            headers["X-User-Id"] = str(viewer)
        response = await self.client.get(path, params=params, headers=headers)
        if self.last_token and response.status_code < 400:
            assert response.headers.get("X-Consistency-Reached") == "true", path
        return response

    async def settle(self, timeout: float = 30) -> None:
        """Wait until the projection has applied every stream's last event."""
        self.unsettled = False
        deadline = time.monotonic() + timeout
        for stream, version in list(self.versions.items()):
            topic = {"user": "identity.users", "follow": "social.follows", "post": "posts.posts"}[stream.split("-")[0]]
            while True:
                response = await self.client.get(
                    "/explore",
                    headers={"X-Consistency-Token": f"{topic}:{stream}:{version}", "X-Consistency-Timeout": "1"},
                )
                if response.headers.get("X-Consistency-Reached") == "true":
                    break
                assert time.monotonic() < deadline, f"projection did not reach {stream}@{version}"


@pytest.fixture
async def make_world(migrated_database, service_client, bus):
    """Factory: a World over a fresh timeline database and a running projector."""
    running: list[tuple[asyncio.Event, asyncio.Future, object]] = []
    replica_engines = []

    async def make(
        cap: int = 800, celebrity_followers: int = 10_000, group: str | None = None, replicas: int = 1
    ) -> World:
        """`replicas` projectors share the partitions, each on an engine of its own (as processes would)."""
        url = migrated_database("timeline")
        app = create_app(Settings(environment="test", database_url=url, consistency_wait_seconds=5.0))
        client = await service_client(app)
        engines = [app.state.engine] + [create_engine(url) for _ in range(replicas - 1)]
        replica_engines.extend(engines[1:])
        runners = [
            ProjectionRunner(TimelineProjection(cap, celebrity_followers), engine, bus, batch_size=100, group=group)
            for engine in engines
        ]
        stop = asyncio.Event()
        running.append((stop, asyncio.gather(*(runner.run(stop) for runner in runners)), app))
        world = World(bus, client)
        world.app, world.runners = app, runners
        return world

    yield make
    for stop, task, app in running:
        stop.set()
        await task
        await app.state.waiter.close()
        await app.state.read_model.dispose()
    for engine in replica_engines:
        await engine.dispose()


@pytest.fixture
async def world(make_world) -> World:
    return await make_world()
