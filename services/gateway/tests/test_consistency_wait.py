"""The wait a read may ask for on its consistency token is bounded by the settings, not the caller;
the tokens of several writes reach the read service as the client sent them."""

import asyncio
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from microblog_shared.http.auth import issue_access_token
from microblog_shared.read.consistency import ConsistencyToken, InvalidToken

SECRET = "c" * 40


@pytest.fixture
async def timeline():
    """A timeline whose projection never reaches the token: it waits as long as it is told to."""
    told: list[str] = []

    async def post(request: web.Request) -> web.Response:
        told.append(request.headers.get("X-Consistency-Timeout", ""))
        await asyncio.sleep(float(told[-1] or 0))
        body = {"id": 1, "body": "hi", "language": "", "timestamp": "2026-12-04T12:00:00Z", "author": {"id": 7}}
        return web.json_response(body, headers={"X-Consistency-Reached": "false"})

    async def home(request: web.Request) -> web.Response:
        """As a read service does: every token parsed (a 400 when one is malformed), all reached."""
        try:
            tokens = ConsistencyToken.parse_all(request.headers.get("X-Consistency-Token", ""))
        except InvalidToken as exc:
            return web.json_response({"error": "Bad Request", "message": str(exc)}, status=400)
        told.append(",".join(str(t) for t in tokens))
        meta = {"page": 1, "per_page": 25, "total_pages": 0, "total_items": 0, "next_after": None}
        page = {"items": [], "_meta": meta, "_links": {"self": "/api/timeline", "next": None, "prev": None}}
        return web.json_response(page, headers={"X-Consistency-Reached": "true"})

    app = web.Application()
    app.router.add_get("/posts/1", post)
    app.router.add_get("/timeline", home)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")), told
    await server.close()


async def test_a_huge_requested_wait_is_capped_at_the_configured_one(gateway_settings, service_client, timeline):
    url, told = timeline
    settings = gateway_settings(jwt_secret=SECRET, timeline_url=url, consistency_wait_seconds=0.5)
    client = await service_client(create_app(settings))
    started = time.monotonic()
    response = await client.get(
        "/api/posts/1",
        headers={
            "Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 60)}",
            "X-Consistency-Token": "posts.posts:post-1:999999",
            "X-Consistency-Timeout": "1000000000",
        },
    )
    assert response.status_code == 200
    assert response.headers["X-Consistency-Reached"] == "false"
    assert told == ["0.5"]
    assert time.monotonic() - started < 2.0


async def test_the_tokens_of_several_writes_are_passed_on_and_a_malformed_one_is_a_400(
    gateway_settings, service_client, timeline
):
    url, told = timeline
    client = await service_client(create_app(gateway_settings(jwt_secret=SECRET, timeline_url=url)))
    auth = {"Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 60)}"}
    tokens = "social.follows:follow-7-8:1,posts.posts:post-3:1"
    response = await client.get("/api/timeline", headers={**auth, "X-Consistency-Token": tokens})
    assert (response.status_code, response.headers["X-Consistency-Reached"]) == (200, "true")
    assert told == [tokens]
    refused = await client.get("/api/timeline", headers={**auth, "X-Consistency-Token": f"{tokens},garbage"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "Bad Request" and "X-Consistency-Token" in refused.json()["message"]
