"""Concurrent writers on real PostgreSQL: no lost update, one retry, then 409."""

import asyncio
from datetime import UTC, datetime

import pytest

from microblog_shared.events import PostEdited
from microblog_shared.runtime.db import create_engine
from microblog_shared.write.eventstore import EventStore
from posts.app import create_app
from posts.settings import PostsSettings

AUTHOR = {"X-User-Id": "7"}


class RacedEventStore(EventStore):
    """Another writer edits the post just before each of our next `races` appends."""

    def __init__(self, engine, races: int) -> None:
        super().__init__(engine, "posts")
        self.races = races

    async def append(self, stream_id, expected_version, events, **kwargs):
        if self.races:
            self.races -= 1
            competing = PostEdited(
                post_id=1, author_id=7, body=f"from another tab {self.races}", language="", edited_at=datetime.now(UTC)
            )
            await super().append(stream_id, expected_version, [competing])
        return await super().append(stream_id, expected_version, events, **kwargs)


@pytest.fixture
async def raced(migrated_database, service_client, detector):
    """A posts client over a RacedEventStore (`.store`), which a test arms after its first post."""
    settings = PostsSettings(environment="test", database_url=migrated_database("posts"))
    store = RacedEventStore(create_engine(settings.database_url), races=0)
    app = create_app(settings, detect_language=detector, store=store)
    client = await service_client(app)
    client.app, client.store = app, store
    return client


async def bodies(posts):
    return [e.payload["body"] for e in await EventStore(posts.app.state.engine, "posts").read_stream("post-1")]


async def test_an_edit_that_loses_one_race_is_decided_again_and_kept(raced):
    await raced.post("/posts", json={"body": "first"}, headers=AUTHOR)
    raced.store.races = 1
    response = await raced.put("/posts/1", json={"body": "mine"}, headers=AUTHOR)
    assert response.status_code == 200
    assert response.headers["X-Consistency-Token"] == "posts.posts:post-1:3"
    assert await bodies(raced) == ["first", "from another tab 0", "mine"]


async def test_an_edit_that_loses_twice_is_409_and_appends_nothing_of_its_own(raced):
    await raced.post("/posts", json={"body": "first"}, headers=AUTHOR)
    raced.store.races = 2
    response = await raced.put("/posts/1", json={"body": "mine"}, headers=AUTHOR)
    assert response.status_code == 409 and response.json()["error"] == "Conflict"
    assert "mine" not in await bodies(raced)


async def test_a_delete_that_loses_twice_is_409(raced):
    await raced.post("/posts", json={"body": "first"}, headers=AUTHOR)
    raced.store.races = 2
    assert (await raced.delete("/posts/1", headers=AUTHOR)).status_code == 409


async def test_simultaneous_edits_all_land_in_order_without_a_lost_update(posts):
    await posts.post("/posts", json={"body": "first"}, headers=AUTHOR)
    edits = [posts.put("/posts/1", json={"body": f"edit {n}"}, headers=AUTHOR) for n in range(2)]
    responses = await asyncio.gather(*edits)
    # Each edit either lands (possibly after its one retry) or is told 409; none vanishes.
    landed = {r.json()["body"] for r in responses if r.status_code == 200}
    assert {r.status_code for r in responses} <= {200, 409} and landed
    stored = await bodies(posts)
    assert stored[0] == "first" and set(stored[1:]) == landed and len(stored) == 1 + len(landed)
