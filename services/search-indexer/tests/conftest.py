"""Search indexer fixtures: each search adapter over a migrated read model, and a running projector.

`index_kind` parametrizes a test over both adapters; the Elasticsearch half runs against the
session's real node (`elasticsearch_url`), each test with indexes of its own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from microblog_shared.events import PostCreated, PostDeleted, PostEdited, UserProfileUpdated, UserRegistered
from microblog_shared.read.projection import ProjectionRunner
from microblog_shared.runtime.db import create_engine
from microblog_testkit.publishing import EventPublisher
from search_indexer.adapters import index_from
from search_indexer.adapters.elasticsearch import ElasticsearchSearchIndex
from search_indexer.app import create_app
from search_indexer.projection import SearchProjection
from search_indexer.settings import SearchIndexerSettings

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
TOPIC_OF = {"user": UserRegistered.topic, "post": PostCreated.topic}


@pytest.fixture(params=["postgres", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def index_kind(request) -> str:
    return request.param


@pytest.fixture
def search_settings(request, index_kind, migrated_database):
    """Factory: settings of a search indexer over a fresh migrated database, with the adapter of `index_kind`."""

    def make(**overrides) -> SearchIndexerSettings:
        backend = {}
        if index_kind == "elasticsearch":
            backend = {
                "search_backend": "elasticsearch",
                "elasticsearch_url": request.getfixturevalue("elasticsearch_url"),
                "elasticsearch_index": f"t-{uuid.uuid4().hex[:10]}",
            }
        return SearchIndexerSettings(
            environment="test",
            database_url=migrated_database("search_indexer"),
            consistency_wait_seconds=5.0,
            **backend,
            **overrides,
        )

    return make


@pytest.fixture
async def index_and_engine(search_settings):
    """(a search index adapter, an engine on its read model)."""
    settings = search_settings()
    index, engine = index_from(settings), create_engine(settings.database_url, pool_size=2)
    yield index, engine
    await index.close()
    await engine.dispose()


@pytest.fixture
def served_settings():
    """Reads what a replay's bulk phase changes in an Elasticsearch index's settings."""

    async def read(index: ElasticsearchSearchIndex, schema: str) -> dict:
        name = index.index_of(schema)
        settings = (await index.client.indices.get_settings(index=name))[name]["settings"]["index"]
        return {"refresh_interval": settings.get("refresh_interval"), "replicas": settings["number_of_replicas"]}

    return read


class World:
    """Publishes facts the way the write services would, and searches through the search API."""

    def __init__(self, bus, client, app) -> None:
        self.events, self.client, self.app = EventPublisher(bus), client, app
        self.clock = 0
        self.last_token: str | None = None

    def tick(self) -> datetime:
        self.clock += 1
        return T0 + timedelta(seconds=self.clock)

    async def emit(self, stream_id: str, event):
        envelope = await self.events.emit(stream_id, event)
        self.last_token = self.events.token(envelope)
        return envelope

    async def register(self, user_id: int, name: str | None = None):
        name = name or f"user{user_id}"
        return await self.emit(
            f"user-{user_id}",
            UserRegistered(user_id=user_id, username=name, email=f"{name}@example.com", registered_at=self.tick()),
        )

    async def rename(self, user_id: int, name: str):
        return await self.emit(
            f"user-{user_id}",
            UserProfileUpdated(
                user_id=user_id, username=name, email=f"{name}@example.com", about_me="", updated_at=self.tick()
            ),
        )

    async def post(self, post_id: int, author: int, body: str, language: str = "en"):
        return await self.emit(
            f"post-{post_id}",
            PostCreated(post_id=post_id, author_id=author, body=body, language=language, created_at=self.tick()),
        )

    async def edit(self, post_id: int, author: int, body: str):
        return await self.emit(
            f"post-{post_id}",
            PostEdited(post_id=post_id, author_id=author, body=body, language="en", edited_at=self.tick()),
        )

    async def delete(self, post_id: int, author: int):
        return await self.emit(
            f"post-{post_id}", PostDeleted(post_id=post_id, author_id=author, deleted_at=self.tick())
        )

    async def search(self, q: str, **params):
        """A search after every write so far is applied."""
        await self.settle()
        return await self.client.get("/search", params={"q": q, **params})

    async def found(self, q: str, **params) -> list[int]:
        response = await self.search(q, **params)
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    async def found_all(self, q: str) -> list[int]:
        """Every post found, page after page (a page holds 100 at most)."""
        await self.settle()
        found: list[int] = []
        for page in range(1, 10_000):
            response = await self.client.get("/search", params={"q": q, "per_page": 100, "page": page})
            assert response.status_code == 200, response.text
            found += [p["id"] for p in response.json()["items"]]
            if len(found) >= response.json()["_meta"]["total_items"]:
                break
        return found

    async def settle(self, timeout: float = 30) -> None:
        """Wait until the projection has applied every stream's last event (a token covers one stream)."""
        deadline = time.monotonic() + timeout
        for stream, version in list(self.events.versions.items()):
            token = f"{TOPIC_OF[stream.split('-')[0]]}:{stream}:{version}"
            while not await self.reached(token):
                assert time.monotonic() < deadline, f"projection did not reach {stream}@{version}"

    async def reached(self, token: str) -> bool:
        response = await self.client.get(
            "/search", params={"q": "settle"}, headers={"X-Consistency-Token": token, "X-Consistency-Timeout": "1"}
        )
        return response.headers.get("X-Consistency-Reached") == "true"


@pytest.fixture
async def make_world(search_settings, service_client, bus):
    """Factory: a World over a fresh search indexer (the adapter of `index_kind`) and its running projector."""
    running: list[tuple[asyncio.Event, asyncio.Task, object, SearchProjection]] = []

    async def make(**overrides) -> World:
        settings = search_settings(**overrides)
        app = create_app(settings)
        client = await service_client(app)
        projection = SearchProjection.from_settings(settings)
        runner = ProjectionRunner(projection, app.state.engine, bus, batch_size=100)
        stop = asyncio.Event()
        running.append((stop, asyncio.create_task(runner.run(stop)), app, projection))
        await app.state.read_model.start()
        return World(bus, client, app)

    yield make
    for stop, task, app, projection in running:
        stop.set()
        await task
        await projection.close()
        await app.state.waiter.close()
        await app.state.index.close()
        await app.state.read_model.dispose()


@pytest.fixture
async def world(make_world) -> World:
    return await make_world()
