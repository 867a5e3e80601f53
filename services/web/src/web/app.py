"""The web UI's composition root: a server-rendered client of the gateway's public API."""

from __future__ import annotations

from contextlib import asynccontextmanager
from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware

from microblog_shared.http.app import create_service_app
from web import errors
from web.badge import BadgeCache
from web.gateway import Caller, Gateway
from web.middleware import ReaderLocale, SecurityHeaders
from web.pages import make_environment
from web.routes import assets, auth, main, messages, profiles
from web.session import SessionCodec, SessionMiddleware
from web.settings import WebSettings
from web.tokens import Refresher
from web.userids import UserIds

STATIC = Path(__file__).parent / "static"


def bootstrap_files() -> Path:
    """Bootstrap 5 and Popper as the bootstrap-flask wheel ships them (found without importing Flask)."""
    spec = find_spec("flask_bootstrap")
    assert spec is not None and spec.submodule_search_locations, "bootstrap-flask is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "bootstrap5"


def create_app(settings: WebSettings, gateway: Gateway | None = None) -> FastAPI:
    client = gateway or Gateway(settings.gateway_url, settings.trusted_proxy_secret, settings.gateway_timeout_seconds)

    async def refresh(refresh_token: str, client_address: str) -> dict:
        return await client.refresh_tokens(Caller(client_address), refresh_token)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await client.close()

    app = create_service_app(
        "web",
        "microblog web",
        [client.ready],
        lifespan=lifespan,
        serve_metrics=False,  # on settings.metrics_port only (runtime.service.main)
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware, codec=SessionCodec(settings.web_secret_key), secure=bool(settings.secure_cookies)
            ),
            Middleware(ReaderLocale),
            Middleware(errors.CrashPage),
        ],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    errors.install(app)
    app.state.settings = settings
    app.state.gateway = client
    app.state.refresher = Refresher(refresh)
    app.state.badges = BadgeCache(settings.badge_cache_seconds)
    app.state.templates = make_environment()
    app.state.user_ids = UserIds()
    app.mount("/static/bootstrap", StaticFiles(directory=bootstrap_files()), name="bootstrap")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, main, profiles, messages, assets):
        app.include_router(module.router)
    return app
