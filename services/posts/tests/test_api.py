import pytest

from microblog_shared.eventstore import EventStore
from microblog_shared.settings import Settings
from posts.app import create_app


@pytest.fixture
async def posts(migrated_database, service_client):
    app = create_app(Settings(environment="test", service_name="posts", database_url=migrated_database("posts")))
    client = await service_client(app)
    client.app = app
    return client


async def test_writing_a_post_appends_post_created_and_answers_a_token(posts):
    response = await posts.post("/posts", json={"body": "hello"}, headers={"X-User-Id": "7"})
    assert response.status_code == 201
    assert response.headers["X-Consistency-Token"] == "posts.posts:post-1:1"
    assert response.json()["body"] == "hello"
    (event,) = await EventStore(posts.app.state.engine, "posts").read_stream("post-1")
    assert event.type == "PostCreated"
    assert event.payload["author_id"] == 7


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "x" * 141}, {}, {"body": None}])
async def test_bad_bodies_are_400_and_append_nothing(posts, body):
    response = await posts.post("/posts", json=body, headers={"X-User-Id": "7"})
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    assert await EventStore(posts.app.state.engine, "posts").read_all() == []


async def test_posting_needs_the_gateway_s_user(posts):
    response = await posts.post("/posts", json={"body": "hello"})
    assert response.status_code == 401
