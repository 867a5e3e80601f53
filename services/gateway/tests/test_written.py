"""Writes are answered from the write side, in the read shape, without a call to the timeline.

Posts is a stand-in that stores every write (as in the other gateway tests); identity is a real
process, the timeline a listener that counts whoever connects to it.
"""

import asyncio
import json

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import backends_from, create_app
from gateway.backends import Backend, Upstream
from microblog_dev.embedded_postgres import free_port
from microblog_shared.http.auth import issue_access_token
from microblog_shared.http.views import avatar

SECRET = "w" * 40
WRITTEN_HEADERS = {"Content-Type": "application/json", "Location": "/api/posts/42", "X-Consistency-Token": "posts:9"}


class StoringPosts(Backend):
    """The posts backend: every write is stored and answered with posts' own representation."""

    def __init__(self, author_id: int) -> None:
        super().__init__("posts", "http://posts", 1.0, 1.0, secret="i" * 40)
        self.author_id = author_id

    async def call(self, method, path, request=None, caller=None, **kwargs):
        body = {"id": 42, "body": "hi", "language": "", "timestamp": "2026-12-04T00:00:00Z"}
        body["author"] = {"id": self.author_id}
        if method == "PUT":
            body["edited_at"] = "2026-12-04T00:01:00.250000Z"
        headers = CIMultiDictProxy(CIMultiDict(WRITTEN_HEADERS))
        return Upstream(201 if method == "POST" else 200, headers, json.dumps(body).encode())


@pytest.fixture
async def timeline():
    """A timeline address that accepts connections, answers none, and counts them."""
    connections = []

    async def hang(reader, writer):
        connections.append(writer)
        await asyncio.sleep(60)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", connections
    server.close()


async def gateway_with(gateway_settings, service_client, author_id, **urls):
    settings = gateway_settings(jwt_secret=SECRET, **urls)
    backends = backends_from(settings)
    backends.posts = StoringPosts(author_id)
    return await service_client(create_app(settings, backends=backends))


def signed_in(user_id: int) -> dict:
    return {"Authorization": f"Bearer {issue_access_token(user_id, f's{user_id}', SECRET, 60)}"}


@pytest.mark.parametrize(("method", "path", "status"), [("POST", "/api/posts", 201), ("PUT", "/api/posts/42", 200)])
async def test_a_post_is_answered_in_its_read_shape_without_calling_the_timeline(
    gateway_settings, service_client, identity, register, timeline, method, path, status
):
    author = await register("susan")
    timeline_url, connections = timeline
    gateway = await gateway_with(
        gateway_settings, service_client, author, identity_url=identity, timeline_url=timeline_url
    )
    started = asyncio.get_running_loop().time()
    response = await gateway.request(method, path, json={"body": "hi"}, headers=signed_in(author))
    assert asyncio.get_running_loop().time() - started < 1  # no wait on any projection
    assert response.status_code == status, response.text
    assert response.json() == {
        "id": 42,
        "body": "hi",
        "language": "",
        "timestamp": "2026-12-04T00:00:00Z",
        "edited_at": "2026-12-04T00:01:00.250000Z" if method == "PUT" else None,
        "author": {
            "id": author,
            "username": "susan",
            "_links": {"self": f"/api/users/{author}", "avatar": avatar("susan@example.com", 36)},
        },
        "_links": {"self": "/api/posts/42", "author": f"/api/users/{author}"},
    }
    assert response.headers["Location"] == "/api/posts/42"
    assert response.headers["X-Consistency-Token"] == "posts:9"
    assert "X-Consistency-Reached" not in response.headers
    assert connections == []


async def test_a_stored_post_is_answered_in_posts_own_view_when_identity_is_down(gateway_settings, service_client):
    gateway = await gateway_with(gateway_settings, service_client, 7)  # every other backend unreachable
    response = await gateway.post("/api/posts", json={"body": "hi"}, headers=signed_in(7))
    assert response.status_code == 201, response.text
    assert response.json()["author"] == {"id": 7}
    assert response.headers["X-Consistency-Token"] == "posts:9"


async def test_a_registration_is_answered_as_identity_has_it_when_its_counts_cant_be_had(
    gateway_settings, service_client, identity
):
    settings = gateway_settings(jwt_secret=SECRET, identity_url=identity, posts_url=f"http://127.0.0.1:{free_port()}")
    gateway = await service_client(create_app(settings))
    account = {"username": "tom", "email": "tom@example.com", "password": "a long password"}
    response = await gateway.post("/api/users", json=account)
    assert response.status_code == 201, response.text  # stored, so never a failure
    assert set(response.json()) == {"id", "username", "email", "about_me", "last_seen", "registered_at"}
    assert response.headers["Location"] == f"/api/users/{response.json()['id']}"
    assert "X-Consistency-Token" in response.headers
