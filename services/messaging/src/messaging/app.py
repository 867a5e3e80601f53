"""Messaging's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from microblog_shared.runtime.service import write_service_app
from messaging.adapters.identity import IdentityUsers
from messaging.api import router
from messaging.settings import MessagingSettings


def create_app(settings: MessagingSettings, users: IdentityUsers | None = None) -> FastAPI:
    """The service's app; `users` defaults to identity at `settings.identity_url` (owned and closed here)."""
    owned = users is None
    users = users or IdentityUsers.at(settings.identity_url, settings.identity_timeout_seconds)
    app = write_service_app(settings, router, closing=[users.close] if owned else [])
    app.state.users = users
    return app
