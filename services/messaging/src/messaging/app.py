"""Messaging's composition root: identity's directory and which status each domain refusal answers."""

from __future__ import annotations

from fastapi import FastAPI

from messaging import domain
from messaging.adapters.store import MessagingEventStore
from messaging.api import router
from messaging.settings import MessagingSettings
from microblog_shared.http.errors import IDENTITY_UNAVAILABLE, Refusal, Refusals
from microblog_shared.http.identity_client import IdentityUnavailable, IdentityUsers
from microblog_shared.runtime.db import create_engine
from microblog_shared.runtime.service import write_service_app
from microblog_shared.write.eventstore import EventStore

REFUSALS: Refusals = {
    domain.InvalidMessage: Refusal(400),
    domain.UnknownUser: Refusal(404),
    IdentityUnavailable: IDENTITY_UNAVAILABLE,
}


def create_app(
    settings: MessagingSettings, users: IdentityUsers | None = None, *, store: EventStore | None = None
) -> FastAPI:
    """The service's app; `users` defaults to identity at `settings.identity_url` (owned and closed here)."""
    owned = users is None
    users = users or IdentityUsers.at(settings.identity_url, settings.identity_timeout_seconds)
    store = store or MessagingEventStore(create_engine(settings.database_url), settings.service_name)
    app = write_service_app(settings, router, closing=[users.close] if owned else [], refusals=REFUSALS, store=store)
    app.state.users = users
    return app
