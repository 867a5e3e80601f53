"""The gateway's composition root: the only public entry point."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from gateway.backends import Backend, Backends
from gateway.routes import posts, tokens, users
from gateway.settings import GatewaySettings
from microblog_shared.web import create_service_app


def create_app(settings: GatewaySettings) -> FastAPI:
    def backend(name: str, url: str) -> Backend:
        return Backend(name, url, settings.backend_timeout_seconds, settings.consistency_wait_seconds)

    backends = Backends(
        identity=backend("identity", settings.identity_url),
        posts=backend("posts", settings.posts_url),
        timeline=backend("timeline", settings.timeline_url),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        for each in backends.all():
            await each.close()

    app = create_service_app(
        "gateway",
        "microblog API",
        [b.ready for b in backends.all()],
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        description="The public API of the microblog platform. Errors are JSON: "
        '`{"error": <HTTP reason>, "message": <detail>}`.',
    )
    app.state.settings = settings
    app.state.backends = backends
    api = APIRouter(prefix="/api")
    for module in (users, tokens, posts):
        api.include_router(module.router)
    app.include_router(api)
    return app
