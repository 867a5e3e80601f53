from typing import Literal

from pydantic import Field

from microblog_shared.runtime.settings import Settings


class SearchIndexerSettings(Settings):
    service_name: str = "search-indexer"
    # PostgreSQL full-text search in the service's own database (the embedded default), or Elasticsearch.
    search_backend: Literal["postgres", "elasticsearch"] = "postgres"
    elasticsearch_url: str = "http://127.0.0.1:9200"
    # The alias of the served index; each read-model version has the index `<name>-<schema>`.
    elasticsearch_index: str = Field(default="microblog-posts", pattern=r"^[a-z0-9][a-z0-9._-]{0,100}$")
    elasticsearch_shards: int = Field(default=1, ge=1)
    elasticsearch_replicas: int = Field(default=0, ge=0)
    # Encoded answers kept while the read model is unchanged (answers.py): repeated searches skip ranking.
    search_cache_entries: int = Field(default=1024, ge=0)
