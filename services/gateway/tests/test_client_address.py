"""Rate limits key on the client's address: X-Forwarded-For counts only from the trusted proxy (the web UI).

Identity is a real HTTP server behind the gateway; the gateway runs in-process, every request
arriving from one socket address, as they would from the web UI's pod.
"""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from microblog_dev.embedded_postgres import free_port

SECRET = "k" * 40
PROXY_SECRET = "p" * 40
LIMIT = 3


@pytest.fixture
async def identity():
    """Identity's stand-in: accepts every reset request and login, and records the headers it saw."""
    seen: list[dict] = []

    async def accept(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if request.path == "/tokens":
            return web.json_response({"token": "a", "refresh_token": "r"})
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/password-resets", accept)
    app.router.add_post("/tokens", accept)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")), seen
    await server.close()


@pytest.fixture
def gateway(gateway_settings, service_client, identity):
    async def make(trusted_proxy_secret: str):
        settings = gateway_settings(
            jwt_secret=SECRET,
            identity_url=identity[0],
            auth_attempts_per_minute=LIMIT,
            trusted_proxy_secret=trusted_proxy_secret,
        )
        return await service_client(create_app(settings))

    return make


def browser(address: str, proxy_secret: str | None = None) -> dict:
    headers = {"X-Forwarded-For": f"{address}, 10.1.2.3"}
    if proxy_secret is not None:
        headers["X-Microblog-Proxy-Secret"] = proxy_secret
    return headers


async def reset_requests(gateway, headers: dict, count: int) -> list[int]:
    return [
        (
            await gateway.post("/api/reset_password_request", json={"email": "susan@example.com"}, headers=headers)
        ).status_code
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    "configured, presented",
    [
        ("", None),  # no proxy trusted: the header is anybody's to write
        ("", ""),  # an empty secret matches nothing, even an empty header
        (PROXY_SECRET, None),  # a trusted proxy exists, but this request does not come from it
        (PROXY_SECRET, "wrong" * 8),
        (PROXY_SECRET, PROXY_SECRET[:-1]),
    ],
)
async def test_a_spoofed_forwarded_for_does_not_buy_a_fresh_budget(gateway, configured, presented):
    client = await gateway(configured)
    statuses = []
    for n in range(LIMIT + 1):  # a new made-up address on every attempt
        statuses += await reset_requests(client, browser(f"203.0.113.{n}", presented), 1)
    assert statuses == [202] * LIMIT + [429]
    login = [
        (
            await client.post("/api/tokens", auth=("susan", "x"), headers=browser(f"198.51.100.{n}", presented))
        ).status_code
        for n in range(LIMIT + 1)
    ]
    assert login == [200] * LIMIT + [429]


async def test_browsers_behind_the_trusted_proxy_get_a_budget_each(gateway, identity):
    client = await gateway(PROXY_SECRET)
    alice, bob = browser("203.0.113.7", PROXY_SECRET), browser("2001:db8::8", PROXY_SECRET)
    assert await reset_requests(client, alice, LIMIT + 1) == [202] * LIMIT + [429]
    assert await reset_requests(client, bob, LIMIT + 1) == [202] * LIMIT + [429]
    # The proxy's own address (the socket's) still has its whole budget, and a forged header
    # from it, without the secret, counts against that address, not Alice's or Bob's.
    assert await reset_requests(client, {}, 1) == [202]
    assert await reset_requests(client, browser("203.0.113.9"), LIMIT) == [202] * (LIMIT - 1) + [429]
    # Another route keeps its own budget per browser.
    assert (await client.post("/api/tokens", auth=("alice", "x"), headers=alice)).status_code == 200
    # Neither the secret nor the forwarded addresses travel on to the services behind.
    assert all("X-Microblog-Proxy-Secret" not in seen and "X-Forwarded-For" not in seen for seen in identity[1])


async def test_a_trusted_request_without_a_usable_forwarded_address_counts_for_the_proxy(gateway):
    client = await gateway(PROXY_SECRET)
    garbage = [
        {"X-Microblog-Proxy-Secret": PROXY_SECRET},
        {"X-Microblog-Proxy-Secret": PROXY_SECRET, "X-Forwarded-For": "not-an-address"},
        {"X-Microblog-Proxy-Secret": PROXY_SECRET, "X-Forwarded-For": ", 203.0.113.7"},
    ]
    statuses = [(await reset_requests(client, headers, 1))[0] for headers in garbage + garbage[:1]]
    assert statuses == [202] * LIMIT + [429]


async def test_a_served_gateway_ignores_forwarded_for_from_a_local_client(gateway_settings, identity, monkeypatch):
    """Served as `python -m gateway api` serves it: uvicorn must not believe the header either."""
    import asyncio

    import httpx
    import uvicorn

    from microblog_shared.runtime.service import server_options

    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    settings = gateway_settings(
        jwt_secret=SECRET, identity_url=identity[0], auth_attempts_per_minute=LIMIT, trusted_proxy_secret=PROXY_SECRET
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, **{**server_options(), "lifespan": "off"}
    )  # no bus: only the limits are tested
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            spoofed = [
                (await reset_requests(client, {"X-Forwarded-For": f"203.0.113.{n}"}, 1))[0] for n in range(LIMIT + 1)
            ]
            trusted = await reset_requests(client, browser("203.0.113.3", PROXY_SECRET), 1)
    finally:
        server.should_exit = True
        await serving
    assert spoofed == [202] * LIMIT + [429]
    assert trusted == [202]
