"""Social graph's composition root."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from microblog_shared.service import write_service_app
from social_graph.adapters.identity import IdentityUsers
from social_graph.api import router
from social_graph.settings import SocialGraphSettings


def create_app(settings: SocialGraphSettings, users: IdentityUsers | None = None) -> FastAPI:
    """The service's app; `users` defaults to identity at `settings.identity_url` (owned and closed here)."""
    app = write_service_app(settings, router)
    app.state.users = users or IdentityUsers.at(settings.identity_url, settings.identity_timeout_seconds)
    if users is None:
        shared_lifespan = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app: FastAPI):
            async with shared_lifespan(app) as state:
                yield state
            await app.state.users.close()

        app.router.lifespan_context = lifespan
    return app
