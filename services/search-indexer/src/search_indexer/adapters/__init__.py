"""The search index adapters, chosen by settings (`MICROBLOG_SEARCH_BACKEND`)."""

from __future__ import annotations

from search_indexer.adapters.index import SearchIndex
from search_indexer.settings import SearchIndexerSettings


def index_from(settings: SearchIndexerSettings) -> SearchIndex:
    if settings.search_backend == "elasticsearch":
        from search_indexer.adapters.elasticsearch import ElasticsearchSearchIndex

        return ElasticsearchSearchIndex.connect(
            settings.elasticsearch_url,
            settings.elasticsearch_index,
            settings.elasticsearch_shards,
            settings.elasticsearch_replicas,
        )
    from search_indexer.adapters.postgres import PostgresSearchIndex

    return PostgresSearchIndex()
