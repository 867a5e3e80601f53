"""The search indexer's composition root: the read API (the projector runs as its own process)."""

from __future__ import annotations

from fastapi import FastAPI

from microblog_shared.http.errors import Refusal, Refusals
from microblog_shared.runtime.service import read_service_app
from search_indexer.adapters import index_from
from search_indexer.adapters.index import SearchIndex
from search_indexer.answers import AnswerCache
from search_indexer.api import router
from search_indexer.domain.search import InvalidSearch
from search_indexer.projection import NAME, TOPICS
from search_indexer.settings import SearchIndexerSettings

REFUSALS: Refusals = {InvalidSearch: Refusal(400)}


def create_app(settings: SearchIndexerSettings, *, index: SearchIndex | None = None) -> FastAPI:
    """The search API over `index` (by default the one the settings choose, owned and closed here)."""
    owned = index is None
    index = index or index_from(settings)
    app = read_service_app(
        settings, router, NAME, TOPICS, checks=[index.ready], closing=[index.close] if owned else [], refusals=REFUSALS
    )
    app.state.index = index
    app.state.answers = AnswerCache(settings.search_cache_entries)
    return app
