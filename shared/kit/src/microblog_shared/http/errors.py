"""The one place where errors become HTTP answers: JSON `{"error": <reason>, "message": <detail>}`.

Every service installs these through `create_service_app`, with its own domain refusals
(which domain error answers with which status).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from microblog_shared.write.eventstore import ConcurrencyError, ReservationTaken
from microblog_shared.write.idempotency import KeyReused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """How a domain error answers: its status, and a fixed message instead of the error's own text."""

    status: int
    message: str | None = None

    def response(self, exc: Exception) -> JSONResponse:
        return error_response(self.status, self.message or _detail(self.status, str(exc)))


Refusals = Mapping[type[Exception], Refusal]

# What the kit's own errors mean, in every service.
KIT_REFUSALS: Refusals = {
    ConcurrencyError: Refusal(409, "the resource was changed by another request; reload and try again"),
    KeyReused: Refusal(422),
}
# How the services that ask identity about users answer while it can't tell them (IdentityUnavailable).
IDENTITY_UNAVAILABLE = Refusal(503, "the identity service is unavailable; try again shortly")


def error_body(status: int, message: str | None = None) -> dict[str, str]:
    body = {"error": HTTPStatus(status).phrase}
    if message:
        body["message"] = message
    return body


def error_response(status: int, message: str | None = None, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def _detail(status: int, detail: Any) -> str | None:
    """The message of an error, unless it only repeats the status's reason."""
    return detail if isinstance(detail, str) and detail != HTTPStatus(status).phrase else None


def _validation_message(exc: RequestValidationError) -> str:
    """Each problem after the name of the field it is in ("body: ..."), without pydantic's "Value error, "."""
    parts = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        # The first part says where the field was (body, query, path, header); the rest names it.
        where = ".".join(
            str(p) for p in (loc[1:] if loc[:1] in (("body",), ("query",), ("path",), ("header",)) else loc)
        )
        message = str(error.get("msg")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "invalid request"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, _detail(exc.status_code, exc.detail), getattr(exc, "headers", None))


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


async def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """A 405 whose `Allow` lists every method of the path, not only those of the first route that matched it."""
    assert isinstance(exc, StarletteHTTPException)
    routes = request.app.router.routes
    allowed = [m for m in METHODS if any(r.matches({**request.scope, "method": m})[0] is Match.FULL for r in routes)]
    return error_response(405, _detail(405, exc.detail), {"Allow": ", ".join(allowed)})


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, _validation_message(exc))


async def _taken(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReservationTaken)
    return error_response(400, f"{exc.kind} is already taken")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The database went away (restart, failover) or asked for a retry (deadlock, serialization).
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0])
    return error_response(503, "the database is unavailable, try again shortly", {"Retry-After": "1"})


async def crashed(request: Request, exc: Exception) -> JSONResponse:
    """The bare 500 of an unexpected error, its traceback logged."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500)


def install_error_handlers(app: FastAPI, refusals: Refusals | None = None) -> None:
    """JSON errors for HTTP errors, invalid requests, the database going away, crashes and `refusals`."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(405, _method_not_allowed)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ReservationTaken, _taken)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, crashed)
    for error, refusal in {**KIT_REFUSALS, **(refusals or {})}.items():
        app.add_exception_handler(error, _refused_with(refusal))


def _refused_with(refusal: Refusal) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def refused(request: Request, exc: Exception) -> JSONResponse:
        return refusal.response(exc)

    return refused
