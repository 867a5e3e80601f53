"""A gateway for the web's tests: a real HTTP server on 127.0.0.1 answering with a test's handler.

aiohttp's server runs on its own thread and event loop, so the web's real client (web.gateway,
aiohttp) talks to it over TCP exactly as it talks to the gateway: headers, encoded paths, JSON
bodies, status codes and refused connections are all real. A handler is an aiohttp handler:
`async def handler(request: web.Request) -> web.Response`, asked for every method and path.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator

import pytest
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class GatewayServer:
    """`with GatewayServer(handler) as server:` serves on `server.url` until the block ends."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        return await self.handler(request)

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return self.runner.addresses[0][1]

    def __enter__(self) -> GatewayServer:
        self.thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def gateway_server() -> Iterator[Callable[[Handler], str]]:
    """Starts a gateway answering with the given handler; gives its base URL; stops them all after the test."""
    servers: list[GatewayServer] = []

    def start(handler: Handler) -> str:
        server = GatewayServer(handler).__enter__()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def refusing_url() -> str:
    """An address where nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
