"""Timeline's composition root: the read API (the projector runs as its own process)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from microblog_shared.consistency import ProjectionWaiter
from microblog_shared.db import create_engine
from microblog_shared.readmodels import VersionedEngine
from microblog_shared.web import create_service_app, database_check
from timeline.api import router
from timeline.projection import NAME, TOPICS
from timeline.settings import TimelineSettings


def create_app(settings: TimelineSettings) -> FastAPI:
    engine = create_engine(settings.database_url, pool_size=2)
    # Reads follow the read-model version being served (a replay switches it while we run).
    read_model = VersionedEngine(settings.database_url, NAME, pool_size=10)
    waiter = ProjectionWaiter(read_model, NAME, set(TOPICS))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await read_model.start()
        yield
        await waiter.close()
        await read_model.dispose()
        await engine.dispose()

    app = create_service_app("timeline", "microblog timeline", [database_check(engine)], lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_model = read_model
    app.state.waiter = waiter
    app.include_router(router)
    return app
