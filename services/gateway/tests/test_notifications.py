"""GET /api/notifications and the gateway's error reports to the notifier (real HTTP servers behind it)."""

import asyncio

import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.settings import GatewaySettings
from microblog_dev.embedded_postgres import free_port
from microblog_shared.http.auth import issue_access_token

SECRET = "k" * 40


class Behind:
    """A small HTTP server standing where the notifier and posts are: records what reaches it."""

    def __init__(self) -> None:
        self.errors: list[dict] = []
        self.queries: list[dict] = []
        self.reported = asyncio.Event()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/errors", self._error)
        app.router.add_get("/notifications", self._notifications)
        app.router.add_get("/posts/{post_id}", self._broken)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def _error(self, request: web.Request) -> web.Response:
        self.errors.append(await request.json())
        self.reported.set()
        return web.json_response({"outcome": "queued"}, status=202)

    async def _notifications(self, request: web.Request) -> web.Response:
        self.queries.append({"since": request.query.get("since"), "user": request.headers.get("X-User-Id")})
        return web.json_response([{"name": "unread_message_count", "data": 2, "timestamp": 1795582374.25}])

    async def _broken(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "Internal Server Error"}, status=500)


@pytest.fixture
async def behind():
    server = Behind()
    server.url = await server.start()
    yield server
    await server.runner.cleanup()


@pytest.fixture
async def gateway(service_client, behind):
    settings = GatewaySettings(
        environment="test",
        jwt_secret=SECRET,
        identity_url=behind.url,
        posts_url=behind.url,
        timeline_url=behind.url,
        social_graph_url=behind.url,
        messaging_url=behind.url,
        notifier_url=behind.url,
    )
    app = create_app(settings)
    client = await service_client(app)
    yield client
    await app.state.backends.notifier.close()


# Made at import: valid for a day, so it holds however long the session runs before these tests.
HEADERS = {"Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 24 * 60)}"}


async def test_notifications_are_read_from_the_notifier_for_the_caller(gateway, behind):
    response = await gateway.get("/api/notifications", params={"since": "1795582000.5"}, headers=HEADERS)
    assert response.status_code == 200
    assert response.json() == [{"name": "unread_message_count", "data": 2, "timestamp": 1795582374.25}]
    assert behind.queries == [{"since": "1795582000.5", "user": "7"}]


@pytest.mark.parametrize("since", ["nan", "inf", "-inf", "-0.5", "soon", "1e400"])
async def test_a_bad_since_is_refused_before_the_notifier_is_asked(gateway, behind, since):
    response = await gateway.get("/api/notifications", params={"since": since}, headers=HEADERS)
    assert response.status_code == 400 and response.json()["error"] == "Bad Request"
    assert behind.queries == []


async def test_notifications_need_a_token(gateway):
    assert (await gateway.get("/api/notifications")).status_code == 401


async def test_a_relayed_500_is_reported_to_the_notifier_without_delaying_the_client(gateway, behind):
    response = await gateway.get("/api/posts/12", headers={**HEADERS, "X-Correlation-ID": "cid-500"})
    assert response.status_code == 500
    await asyncio.wait_for(behind.reported.wait(), 5)
    (report,) = behind.errors
    assert report["method"] == "GET" and report["path"] == "/api/posts/12" and report["status"] == 500
    assert report["correlation_id"] == "cid-500" and report["service"] == "gateway"


async def test_a_crash_in_the_gateway_is_reported_with_its_traceback(gateway, behind):
    def crash():
        raise ZeroDivisionError("division by zero")

    app = gateway._transport.app
    app.add_api_route("/api/crash", crash)
    gateway._transport.raise_app_exceptions = False
    response = await gateway.get("/api/crash")
    assert response.status_code == 500 and response.json() == {"error": "Internal Server Error"}
    await asyncio.wait_for(behind.reported.wait(), 5)
    (report,) = behind.errors
    assert report["error"] == "ZeroDivisionError: division by zero"
    assert "Traceback" in report["traceback"] and "crash" in report["traceback"]


async def test_an_unreachable_notifier_never_fails_the_client(gateway_settings, service_client):
    app = create_app(gateway_settings(jwt_secret=SECRET))
    client = await service_client(app)

    def crash():
        raise RuntimeError("boom")

    app.add_api_route("/api/crash", crash)
    client._transport.raise_app_exceptions = False
    assert (await client.get("/api/crash")).status_code == 500
    await asyncio.sleep(0.2)  # the report fails quietly in the background
    assert (await client.get("/api/notifications", headers=HEADERS)).status_code == 503
