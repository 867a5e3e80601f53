"""Social graph's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from microblog_shared.runtime.service import write_service_app
from social_graph.adapters.identity import IdentityUsers
from social_graph.api import router
from social_graph.settings import SocialGraphSettings


def create_app(settings: SocialGraphSettings, users: IdentityUsers | None = None) -> FastAPI:
    """The service's app; `users` defaults to identity at `settings.identity_url` (owned and closed here)."""
    owned = users is None
    users = users or IdentityUsers.at(settings.identity_url, settings.identity_timeout_seconds)
    app = write_service_app(settings, router, closing=[users.close] if owned else [])
    app.state.users = users
    return app
