"""The gateway's composition root: the only public entry point."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware

from gateway.auth import Activity
from gateway.backends import Backend, Backends
from gateway.errors import ErrorReporter, ReportServerErrors
from gateway.openapi import serve_corrected_openapi
from gateway.ratelimit import RateLimiter
from gateway.routes import (
    email_changes,
    exports,
    messages,
    notifications,
    posts,
    resets,
    search,
    tokens,
    translate,
    users,
)
from gateway.sessions import RevokedSessions
from gateway.settings import GatewaySettings
from gateway.translation import TranslationUnavailable, Translator, translator_from
from gateway.verified import VerifiedTokens
from gateway.writelimits import WriteLimits, document
from microblog_shared.bus import create_bus
from microblog_shared.http.app import ReadyCheck, create_service_app
from microblog_shared.http.errors import Refusal, Refusals
from microblog_shared.read.consistency import MAX_TOKENS

REFUSALS: Refusals = {TranslationUnavailable: Refusal(503)}


def backends_from(settings: GatewaySettings) -> Backends:
    """The services behind the gateway, at the settings' addresses."""

    def backend(name: str, url: str) -> Backend:
        return Backend(
            name, url, settings.backend_timeout_seconds, settings.consistency_wait_seconds, settings.internal_secret
        )

    return Backends(
        identity=backend("identity", settings.identity_url),
        posts=backend("posts", settings.posts_url),
        timeline=backend("timeline", settings.timeline_url),
        social_graph=backend("social-graph", settings.social_graph_url),
        messaging=backend("messaging", settings.messaging_url),
        notifier=backend("notifier", settings.notifier_url),
        search_indexer=backend("search-indexer", settings.search_indexer_url),
    )


def create_app(
    settings: GatewaySettings, bus=None, *, backends: Backends | None = None, translator: Translator | None = None
) -> FastAPI:
    """The public API; `bus` (revocations), `backends` and `translator` default to what the settings name.

    All of them are closed at shutdown, but a `bus` handed in.
    """
    backends = backends or backends_from(settings)
    translator = translator or translator_from(
        settings.translator_key, settings.translator_region, settings.translator_endpoint
    )
    revoked = RevokedSessions()
    reporter = ErrorReporter(backends.notifier)

    async def revoked_snapshot() -> list[dict]:
        response = await backends.identity.call("GET", "/sessions/revoked")
        if response.status_code != 200:
            raise RuntimeError(f"identity answered {response.status_code} for the revoked sessions")
        return response.json()

    async def report_seen(user_id: int) -> None:
        await backends.identity.call("POST", f"/users/{user_id}/seen")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        events = bus or create_bus(settings)
        stop = asyncio.Event()
        following = asyncio.create_task(revoked.follow(events, revoked_snapshot, stop))
        yield
        stop.set()
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        if bus is None:
            await events.close()
        await reporter.close()
        for each in backends.all():
            await each.close()
        await translator.close()

    async def revocations_loaded() -> None:
        if not revoked.loaded.is_set():
            raise RuntimeError("revoked sessions not loaded yet")

    ready_checks: list[ReadyCheck] = [*(b.ready for b in backends.all()), revocations_loaded]
    verified_tokens = VerifiedTokens(settings.jwt_secret)  # the routes' and the write limits' one cache
    app = create_service_app(
        "gateway",
        "microblog API",
        ready_checks,
        lifespan=lifespan,
        max_body_bytes=settings.max_body_bytes,
        middleware=[
            Middleware(WriteLimits, settings=settings, revoked=revoked, tokens=verified_tokens),
            Middleware(ReportServerErrors, report=reporter.report),
        ],
        refusals=REFUSALS,
        serve_metrics=False,  # on settings.metrics_port only (runtime.service.main)
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        description="The public API of the microblog platform. Errors are JSON: "
        '`{"error": <HTTP reason>, "message": <detail>}`. Writes answer `X-Consistency-Token` at once; '
        f"send it back on reads to see your own writes: up to {MAX_TOKENS} tokens (the newest per stream), "
        "comma-separated, and the read waits (bounded) until the ones it depends on are applied "
        "(`X-Consistency-Reached`). Collections take `page` and `per_page` (above 100 is served as 100), or the keyset "
        "cursor `after` from `_meta.next_after`. Every write (POST, PUT, PATCH, DELETE) counts against "
        "the caller's account and address budgets and answers `X-RateLimit-Limit`, `X-RateLimit-Remaining` and "
        "`X-RateLimit-Reset` (seconds until the window ends); over a budget it is a 429 with `Retry-After`. "
        "Reads answer a strong `ETag`: send it back in `If-None-Match` for a `304` without a body while the "
        "answer is unchanged.",
    )
    app.state.settings = settings
    app.state.backends = backends
    app.state.revoked = revoked
    app.state.verified_tokens = verified_tokens
    app.state.activity = Activity(report_seen, settings.last_seen_interval_seconds)
    app.state.auth_limiter = RateLimiter(settings.auth_attempts_per_minute)
    app.state.translator = translator

    api = APIRouter(prefix="/api")
    for module in (users, tokens, posts, messages, resets, email_changes, translate, exports, notifications, search):
        api.include_router(module.router)
    app.include_router(api)
    serve_corrected_openapi(app)
    document(app)
    return app
