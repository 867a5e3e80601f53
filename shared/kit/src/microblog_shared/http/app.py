"""What every HTTP service shares: JSON errors, correlation ids, health, metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microblog_shared.http.errors import Refusals, crashed, install_error_handlers
from microblog_shared.runtime import context

CORRELATION_HEADER = "X-Correlation-ID"
ReadyCheck = Callable[[], Awaitable[None]]

REQUEST_SECONDS = Histogram(
    "microblog_http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"]
)


def create_service_app(
    service: str,
    title: str,
    ready_checks: list[ReadyCheck] | None = None,
    max_body_bytes: int = 64 * 1024,
    middleware: Sequence[Middleware] = (),
    refusals: Refusals | None = None,
    serve_metrics: bool = True,
    **kwargs: Any,
) -> FastAPI:
    """A FastAPI app with the platform's error shape, body limit, correlation ids, health and metrics.

    `middleware` runs innermost, inside the correlation id (e.g. the gateway's error reports);
    `refusals` say which status each of the service's domain errors answers with. Public apps
    (gateway, web) pass `serve_metrics=False`: their metrics go to the `metrics_port` only.
    """
    from microblog_shared.http.bodylimit import BodyLimit

    app = FastAPI(title=title, **kwargs)
    install_error_handlers(app, refusals)
    for inner in reversed(middleware):
        app.add_middleware(inner.cls, *inner.args, **inner.kwargs)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    checks = ready_checks if ready_checks is not None else []
    app.state.ready_checks = checks

    app.add_middleware(Correlate, service=service)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        failures = []
        for check in app.state.ready_checks:
            try:
                await check()
            except Exception as exc:  # a readiness probe reports, it doesn't crash
                failures.append(f"{getattr(check, '__name__', 'check')}: {exc}")
        if failures:
            return JSONResponse({"status": "unavailable", "failures": failures}, status_code=503)
        return JSONResponse({"status": "ready"})

    if serve_metrics:

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


class Correlate:
    """Tag each request with a correlation id (the caller's or a new one), echo it, time the request.

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` costs a task and a stream per request.
    """

    header = CORRELATION_HEADER.lower().encode()

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == self.header), b"").decode("latin-1")
        correlation = (given or context.new_correlation_id())[:64]
        token = context.correlation_id.set(correlation)
        started_at, status, started = time.perf_counter(), 500, False

        async def send_tagged(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [*message.get("headers", ()), (self.header, correlation.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_tagged)
        except Exception as exc:
            if started:
                raise  # too late for an answer: the server drops the connection
            # Answered here rather than by Starlette's outermost handler, which re-raises after its
            # 500: uvicorn then closes the keep-alive connection under the gateway's pool.
            await (await crashed(Request(scope), exc))(scope, receive, send_tagged)
        finally:
            context.correlation_id.reset(token)
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_SECONDS.labels(self.service, scope["method"], route, status).observe(
                time.perf_counter() - started_at
            )


def database_check(engine: AsyncEngine) -> ReadyCheck:
    from sqlalchemy import text

    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return database
