"""A write that was stored is never reported as failed, however the read-back from the timeline goes."""

import asyncio
import json

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import backends_from, create_app
from gateway.backends import Backend, Upstream
from microblog_dev.embedded_postgres import free_port
from microblog_shared.http.auth import issue_access_token

SECRET = "w" * 40
AUTH = {"Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 60)}"}
STORED = {"id": 42, "body": "hi", "language": "", "timestamp": "2026-12-04T00:00:00Z", "author": {"id": 7}}
WRITTEN_HEADERS = {"Content-Type": "application/json", "Location": "/api/posts/42", "X-Consistency-Token": "posts:9"}


class StoringPosts(Backend):
    """The posts backend: every write is stored and answered with posts' own representation."""

    def __init__(self) -> None:
        super().__init__("posts", "http://posts", 1.0, 1.0, secret="i" * 40)

    async def call(self, method, path, request=None, caller=None, **kwargs):
        body = {**STORED, "edited_at": "2026-12-04T00:01:00Z"} if method == "PUT" else STORED
        headers = CIMultiDictProxy(CIMultiDict(WRITTEN_HEADERS))
        return Upstream(201 if method == "POST" else 200, headers, json.dumps(body).encode())


@pytest.fixture
async def silent_timeline():
    """A timeline that accepts connections and never answers."""

    async def hang(reader, writer):
        await asyncio.sleep(60)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()


async def gateway_with(gateway_settings, service_client, timeline_url):
    settings = gateway_settings(jwt_secret=SECRET, timeline_url=timeline_url)
    backends = backends_from(settings)
    backends.posts = StoringPosts()
    return await service_client(create_app(settings, backends=backends))


def assert_answered_from_the_write(response, status):
    assert response.status_code == status, response.text
    assert response.json()["id"] == 42
    assert response.json()["author"] == {"id": 7}
    assert response.headers["Location"] == "/api/posts/42"
    assert response.headers["X-Consistency-Token"] == "posts:9"
    assert response.headers["X-Consistency-Reached"] == "false"


@pytest.mark.parametrize(("method", "path", "status"), [("POST", "/api/posts", 201), ("PUT", "/api/posts/42", 200)])
async def test_a_stored_post_is_answered_from_the_write_when_the_timeline_is_down(
    gateway_settings, service_client, method, path, status
):
    gateway = await gateway_with(gateway_settings, service_client, f"http://127.0.0.1:{free_port()}")
    response = await gateway.request(method, path, json={"body": "hi"}, headers=AUTH)
    assert_answered_from_the_write(response, status)


async def test_a_stored_post_is_answered_from_the_write_soon_when_the_timeline_hangs(
    gateway_settings, service_client, silent_timeline
):
    gateway = await gateway_with(gateway_settings, service_client, silent_timeline)
    started = asyncio.get_running_loop().time()
    response = await gateway.post("/api/posts", json={"body": "hi"}, headers=AUTH)
    assert_answered_from_the_write(response, 201)
    assert asyncio.get_running_loop().time() - started < 5  # not the 10 s backend timeout
