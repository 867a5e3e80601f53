import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from microblog_shared.bus import Record
from microblog_shared.events import Envelope, PostCreated, UserRegistered, registry
from microblog_shared.projection import ProjectionRunner
from microblog_shared.settings import Settings
from timeline.app import create_app
from timeline.projection import TimelineProjection

T0 = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def envelope(event, stream_id: str, version: int = 1) -> Envelope:
    return Envelope(type=event.type_name, stream_id=stream_id, stream_version=version, producer="test",
                    payload=event.model_dump(mode="json"))


def user(user_id: int, name: str) -> Envelope:
    return envelope(UserRegistered(user_id=user_id, username=name, email=f"{name}@x.io", registered_at=T0),
                    f"user-{user_id}")


def post(post_id: int, author_id: int, minutes: int) -> Envelope:
    return envelope(PostCreated(post_id=post_id, author_id=author_id, body=f"post {post_id}", language="en",
                                created_at=T0 + timedelta(minutes=minutes)), f"post-{post_id}")


@pytest.fixture
async def timeline(migrated_database, service_client, bus):
    app = create_app(Settings(environment="test", database_url=migrated_database("timeline"),
                              consistency_wait_seconds=2.0))
    client = await service_client(app)
    runner = ProjectionRunner(TimelineProjection(), app.state.engine, bus)
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))

    async def publish(*envelopes: Envelope) -> None:
        for e in envelopes:
            await bus.publish(registry.contract(e.type).topic, [Record(key=e.stream_id, value=e.to_bytes())])

    client.publish = publish
    yield client
    stop.set()
    await running
    await app.state.waiter.close()


async def test_a_users_posts_are_served_newest_first_with_their_author(timeline):
    await timeline.publish(user(1, "susan"), user(2, "john"), post(10, 1, 0), post(11, 2, 1), post(12, 1, 2))
    response = await timeline.get("/users/1/posts", headers={"X-Consistency-Token": "posts.posts:post-12:1"})
    assert response.headers["X-Consistency-Reached"] == "true"
    body = response.json()
    assert [p["id"] for p in body["items"]] == [12, 10]
    assert body["items"][0]["author"]["username"] == "susan"
    assert body["items"][0]["timestamp"] == "2026-11-24T12:02:00Z"
    assert body["_meta"] == {"page": 1, "per_page": 10, "total_pages": 1, "total_items": 2}


async def test_a_read_waits_for_the_projection_to_reach_the_callers_write(timeline):
    await timeline.publish(user(1, "susan"))
    reading = asyncio.create_task(
        timeline.get("/users/1/posts", headers={"X-Consistency-Token": "posts.posts:post-5:1"})
    )
    await asyncio.sleep(0.3)
    assert not reading.done()
    await timeline.publish(post(5, 1, 0))
    response = await reading
    assert response.headers["X-Consistency-Reached"] == "true"
    assert [p["id"] for p in response.json()["items"]] == [5]


async def test_the_wait_is_bounded(timeline):
    await timeline.publish(user(1, "susan"))
    await timeline.get("/users/1/posts", headers={"X-Consistency-Token": "identity.users:user-1:1"})
    started = asyncio.get_running_loop().time()
    response = await timeline.get("/users/1/posts", headers={"X-Consistency-Token": "posts.posts:post-99:1",
                                                             "X-Consistency-Timeout": "0.3"})
    assert 0.25 < asyncio.get_running_loop().time() - started < 1.5
    assert response.status_code == 200
    assert response.headers["X-Consistency-Reached"] == "false"


async def test_tokens_of_topics_the_timeline_does_not_read_need_no_wait(timeline):
    await timeline.publish(user(1, "susan"))
    await timeline.get("/users/1/posts", headers={"X-Consistency-Token": "identity.users:user-1:1"})
    response = await timeline.get("/users/1/posts", headers={"X-Consistency-Token": "messaging.messages:m-1:1"})
    assert response.headers["X-Consistency-Reached"] == "true"


@pytest.mark.parametrize("token", ["garbage", "posts.posts:post-1", "posts.posts:post-1:x", "a:b:1:2"])
async def test_malformed_tokens_are_400(timeline, token):
    response = await timeline.get("/users/1/posts", headers={"X-Consistency-Token": token})
    assert response.status_code == 400
    assert "X-Consistency-Token" in response.json()["message"]


async def test_unknown_users_are_404(timeline):
    response = await timeline.get("/users/42/posts")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "message": "no such user"}
