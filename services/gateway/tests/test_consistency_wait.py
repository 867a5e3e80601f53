"""The wait a read may ask for on its consistency token is bounded by the settings, not the caller."""

import asyncio
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from microblog_shared.http.auth import issue_access_token

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

    app = web.Application()
    app.router.add_get("/posts/1", post)
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
