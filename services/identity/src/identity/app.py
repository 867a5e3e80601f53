"""Identity's composition root: the router, the clock and which status each domain refusal answers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from identity import domain, handlers, pending_email
from identity.adapters.store import IdentityEventStore
from identity.api import router
from identity.deps import Clock
from microblog_shared.http.auth import REVOKED_SESSIONS_HEADER, revoked_sessions
from microblog_shared.http.errors import Refusal, Refusals
from microblog_shared.runtime.db import create_engine
from microblog_shared.runtime.service import write_service_app
from microblog_shared.runtime.settings import Settings
from microblog_shared.write.eventstore import EventStore
from microblog_shared.write.handling import utcnow

REFUSALS: Refusals = {
    domain.InvalidRegistration: Refusal(400),
    domain.InvalidProfile: Refusal(400),
    domain.InvalidPassword: Refusal(400),
    domain.WrongPassword: Refusal(400),
    domain.InvalidResetToken: Refusal(400),
    pending_email.PasswordRequired: Refusal(400),
    pending_email.InvalidEmailChangeToken: Refusal(400),
    domain.RefreshRejected: Refusal(401),
    handlers.Forbidden: Refusal(403),
    handlers.UnknownUser: Refusal(404, "no such user"),
}


def create_app(settings: Settings, *, clock: Clock = utcnow, store: EventStore | None = None) -> FastAPI:
    """The identity API; tests pass their own `clock` instead of waiting, or their own `store`."""
    store = store or IdentityEventStore(create_engine(settings.database_url), settings.service_name)
    app = write_service_app(settings, router, refusals=REFUSALS, store=store)
    app.state.clock = clock
    app.add_exception_handler(handlers.ReuseEndedSessions, _reuse_refused)
    return app


async def _reuse_refused(request: Request, exc: Exception) -> JSONResponse:
    """The usual 401, telling the gateway that asked which sessions to refuse before it answers."""
    assert isinstance(exc, handlers.ReuseEndedSessions)  # the only type it is registered for
    response = REFUSALS[domain.RefreshRejected].response(exc)
    response.headers[REVOKED_SESSIONS_HEADER] = revoked_sessions(exc.session_ids, exc.tokens_expire_at)
    return response
