"""The search indexer's composition root: the read API (the projector runs as its own process)."""

from __future__ import annotations

from fastapi import FastAPI

from microblog_shared.runtime.service import read_service_app
from search_indexer.adapters import index_from
from search_indexer.api import router
from search_indexer.projection import NAME, TOPICS
from search_indexer.settings import SearchIndexerSettings


def create_app(settings: SearchIndexerSettings) -> FastAPI:
    index = index_from(settings)
    app = read_service_app(settings, router, NAME, TOPICS, checks=[index.ready], closing=[index.close])
    app.state.index = index
    return app
