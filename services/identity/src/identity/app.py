"""Identity's composition root: the router, the clock, body limits and how errors answer."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from fastapi import FastAPI, Request

from identity import domain, handlers
from identity.api import router
from microblog_shared.service import write_service_app
from microblog_shared.settings import Settings
from microblog_shared.web import error_response

MAX_BODY_BYTES = 64 * 1024  # the largest valid request is far smaller

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(settings: Settings, clock: Clock = utc_now) -> FastAPI:
    """The identity API; tests pass their own `clock` instead of waiting."""
    app = write_service_app(settings, router)
    app.state.clock = clock
    install_domain_errors(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    return app


def install_domain_errors(app: FastAPI) -> None:
    """Each domain refusal answers with its own status and message."""
    statuses = {
        domain.InvalidRegistration: 400, domain.InvalidProfile: 400, domain.InvalidPassword: 400,
        domain.WrongPassword: 400, handlers.UnknownUser: 404, handlers.Forbidden: 403,
    }
    for error, status in statuses.items():
        app.add_exception_handler(error, _answer_with(status))

    async def unauthorized(request: Request, exc: domain.RefreshRejected):
        return error_response(401, str(exc))

    app.add_exception_handler(domain.RefreshRejected, unauthorized)


def _answer_with(status: int):
    async def answer(request: Request, exc: Exception):
        return error_response(status, "no such user" if isinstance(exc, handlers.UnknownUser) else str(exc))

    return answer


class BodyLimit:
    """Refuse request bodies over `max_bytes` with a JSON 413, whether or not Content-Length is sent.

    The body is read here first (it is small by then) and replayed to the app.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await self._refuse(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody is left to answer
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:  # a body sent without (or lying about) its length
                return await self._refuse(scope, receive, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send) -> None:
        message = f"request bodies are limited to {self.max_bytes} bytes"
        await error_response(413, message)(scope, receive, send)
