"""What every HTTP service shares: JSON errors, correlation ids, health, metrics."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Awaitable, Callable, Sequence

import orjson

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware

from microblog_shared.runtime import context
from microblog_shared.write.eventstore import ConcurrencyError, ReservationTaken

log = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
ReadyCheck = Callable[[], Awaitable[None]]

REQUEST_SECONDS = Histogram(
    "microblog_http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"]
)


class JSONBody(JSONResponse):
    """A JSON response encoded by orjson, for hot read paths that return plain dicts and lists.

    Returning it directly skips FastAPI's jsonable_encoder walk over the whole body.
    """

    def render(self, content) -> bytes:
        return orjson.dumps(content)


def error_body(status: int, message: str | None = None) -> dict:
    body = {"error": HTTPStatus(status).phrase}
    if message:
        body["message"] = message
    return body


def error_response(status: int, message: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else None
        return error_response(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return error_response(400, _validation_message(exc))

    @app.exception_handler(ConcurrencyError)
    async def conflict(request: Request, exc: ConcurrencyError):
        return error_response(409, "the resource was changed by another request; reload and try again")

    @app.exception_handler(ReservationTaken)
    async def taken(request: Request, exc: ReservationTaken):
        return error_response(400, f"{exc.kind} is already taken")

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unavailable(request: Request, exc: Exception):
        # The database went away (restart, failover) or asked for a retry (deadlock, serialization).
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0])
        return error_response(503, "the database is unavailable, try again shortly", {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500)


def create_service_app(
    service: str,
    title: str,
    ready_checks: list[ReadyCheck] | None = None,
    max_body_bytes: int = 64 * 1024,
    middleware: Sequence[Middleware] = (),
    **kwargs,
) -> FastAPI:
    """A FastAPI app with the platform's error shape, body limit, correlation ids, health and metrics.

    `middleware` runs innermost, inside the correlation id (e.g. the gateway's error reports).
    """
    from microblog_shared.http.bodylimit import BodyLimit

    app = FastAPI(title=title, **kwargs)
    install_error_handlers(app)
    for inner in reversed(middleware):
        app.add_middleware(inner.cls, *inner.args, **inner.kwargs)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    checks = ready_checks if ready_checks is not None else []
    app.state.ready_checks = checks

    app.add_middleware(Correlate, service=service)

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz():
        failures = []
        for check in app.state.ready_checks:
            try:
                await check()
            except Exception as exc:  # a readiness probe reports, it doesn't crash
                failures.append(f"{getattr(check, '__name__', 'check')}: {exc}")
        if failures:
            return JSONResponse({"status": "unavailable", "failures": failures}, status_code=503)
        return {"status": "ready"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics():
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


class Correlate:
    """Tag each request with a correlation id (the caller's or a new one), echo it, time the request.

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` costs a task and a stream per request.
    """

    header = CORRELATION_HEADER.lower().encode()

    def __init__(self, app, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((value for name, value in scope["headers"] if name == self.header), b"").decode("latin-1")
        correlation = (given or context.new_correlation_id())[:64]
        token = context.correlation_id.set(correlation)
        started, status = time.perf_counter(), 500

        async def send_tagged(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (self.header, correlation.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_tagged)
        finally:
            context.correlation_id.reset(token)
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_SECONDS.labels(self.service, scope["method"], route, status).observe(time.perf_counter() - started)


def database_check(engine) -> ReadyCheck:
    from sqlalchemy import text

    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return database
