"""The search indexer's composition root: the read API (the projector runs as its own process)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from microblog_shared.consistency import ProjectionWaiter
from microblog_shared.db import create_engine
from microblog_shared.readmodels import VersionedEngine
from microblog_shared.web import create_service_app, database_check
from search_indexer.adapters import index_from
from search_indexer.api import router
from search_indexer.projection import NAME, TOPICS
from search_indexer.settings import SearchIndexerSettings


def create_app(settings: SearchIndexerSettings) -> FastAPI:
    engine = create_engine(settings.database_url, pool_size=2)
    # Reads follow the read-model version being served (a replay switches it while we run).
    read_model = VersionedEngine(settings.database_url, NAME, pool_size=10)
    waiter = ProjectionWaiter(read_model, NAME, set(TOPICS))
    index = index_from(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await read_model.start()
        yield
        await waiter.close()
        await index.close()
        await read_model.dispose()
        await engine.dispose()

    app = create_service_app("search-indexer", "microblog search indexer", [database_check(engine), index.ready],
                             lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_model = read_model
    app.state.waiter = waiter
    app.state.index = index
    app.include_router(router)
    return app
