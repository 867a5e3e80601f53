"""Path segments the gateway takes from a client reach the backend as one encoded segment, never another route."""

import pytest
from aiohttp import web

from gateway.app import create_app
from microblog_dev.embedded_postgres import free_port
from microblog_shared.http.auth import issue_access_token

SECRET = "k" * 40
TOKEN = {"Authorization": f"Bearer {issue_access_token(1, 's1', SECRET, 60)}"}


@pytest.fixture
async def timeline():
    """A stand-in timeline service that records the raw path of every request it gets."""
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        user = {"id": 7, "username": "x", "last_seen": None, "about_me": "", "post_count": 0}
        return web.json_response(user | {"follower_count": 0, "followed_count": 0, "_links": {"self": "/"}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


@pytest.fixture
async def gateway(gateway_settings, service_client, timeline):
    settings = gateway_settings(jwt_secret=SECRET, timeline_url=timeline[0])
    return await service_client(create_app(settings))


@pytest.mark.parametrize(
    ("asked", "forwarded"),
    [
        ("%2E%2E", "/users/by-name/%2E%2E"),
        ("%2E", "/users/by-name/%2E"),
        ("50%25%3F%23", "/users/by-name/50%25%3F%23"),
        ("susan", "/users/by-name/susan"),
    ],
)
async def test_a_username_is_one_encoded_segment_of_the_backend_path(gateway, timeline, asked, forwarded):
    response = await gateway.get(f"/api/users/by-name/{asked}", headers=TOKEN)
    assert timeline[1] == [forwarded]
    assert response.status_code == 200


async def test_a_slash_in_a_username_finds_no_route_and_reaches_no_backend(gateway, timeline):
    response = await gateway.get("/api/users/by-name/a%2Fb", headers=TOKEN)
    assert (response.status_code, timeline[1]) == (404, [])
