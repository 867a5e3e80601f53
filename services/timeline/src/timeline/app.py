"""Timeline's composition root: the read API (the projector runs as its own process)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from microblog_shared.consistency import ProjectionWaiter
from microblog_shared.db import create_engine
from microblog_shared.web import create_service_app, database_check
from timeline.api import router
from timeline.projection import NAME, TOPICS
from timeline.settings import TimelineSettings


def create_app(settings: TimelineSettings) -> FastAPI:
    engine = create_engine(settings.database_url, pool_size=10)
    waiter = ProjectionWaiter(engine, NAME, set(TOPICS))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await waiter.close()
        await engine.dispose()

    app = create_service_app("timeline", "microblog timeline", [database_check(engine)], lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    # Reads run outside transactions: no BEGIN and ROLLBACK round trips around every page.
    app.state.reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    app.state.waiter = waiter
    app.include_router(router)
    return app
