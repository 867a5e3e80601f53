"""The notifier's composition root: the read API (the projector and the mailer run as their own processes)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from microblog_shared.consistency import ProjectionWaiter
from microblog_shared.db import create_engine
from microblog_shared.readmodels import VersionedEngine
from microblog_shared.web import create_service_app, database_check
from notifier.api import router
from notifier.projection import NAME, TOPICS
from notifier.settings import NotifierSettings


def create_app(settings: NotifierSettings) -> FastAPI:
    engine = create_engine(settings.database_url, pool_size=2)
    # Reads follow the read-model version being served (a replay switches it while we run).
    read_model = VersionedEngine(settings.database_url, NAME, pool_size=5)
    waiter = ProjectionWaiter(read_model, NAME, set(TOPICS), streams_span_topics=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await read_model.start()
        yield
        await waiter.close()
        await read_model.dispose()
        await engine.dispose()

    app = create_service_app("notifier", "microblog notifier", [database_check(engine)], lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_model = read_model
    app.state.waiter = waiter
    app.include_router(router)
    return app
