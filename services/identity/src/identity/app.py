"""Identity's composition root: the router, the clock and how errors answer."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from fastapi import FastAPI, Request

from identity import domain, handlers
from identity.api import router
from microblog_shared.runtime.service import write_service_app
from microblog_shared.runtime.settings import Settings
from microblog_shared.http.app import error_response

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(settings: Settings, clock: Clock = utc_now) -> FastAPI:
    """The identity API; tests pass their own `clock` instead of waiting."""
    app = write_service_app(settings, router)
    app.state.clock = clock
    install_domain_errors(app)
    return app


def install_domain_errors(app: FastAPI) -> None:
    """Each domain refusal answers with its own status and message."""
    statuses = {
        domain.InvalidRegistration: 400, domain.InvalidProfile: 400, domain.InvalidPassword: 400,
        domain.WrongPassword: 400, domain.InvalidResetToken: 400, handlers.UnknownUser: 404, handlers.Forbidden: 403,
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
