"""Elasticsearch through the official async client: one index per read-model version.

- The index of a version is `<name>-<schema>`; the alias `<name>` names the served one for
  operators (the read API picks the index of the schema it reads, so both always agree).
- Terms are the domain's analysis joined by spaces, in a `whitespace`-analysed field: the same
  terms as the PostgreSQL adapter, ranked by BM25, and no analysis module that a node may lack
  (`asciifolding`, `cjk_bigram` and `english` live in analysis-common).
- Every document is written with `version_type=external_gte` and the post's stream version: a
  redelivered or older state is refused (409, ignored), so at-least-once delivery is harmless.
  A deleted post stays as a tombstone document without terms, so a late create cannot
  resurrect it (a real delete would lose its version after `index.gc_deletes`).
- Writes refresh before they return, and they return before the projector commits its
  checkpoint: once a consistency token is reached, the post is searchable.
- A replay's bulk phase (start_bulk/finish_bulk) loads the fresh index, which nobody searches
  yet, with refreshes off and no replicas; both are restored (and the index refreshed) before
  the replay's tail and the switch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, NotFoundError

from search_indexer.adapters.index import schema_of
from search_indexer.domain.analysis import index_terms
from search_indexer.domain.posts import Post
from search_indexer.domain.search import SearchHits, SearchPage, SearchRequest
from search_indexer.queries import posts_in_order

log = logging.getLogger(__name__)

MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "terms": {"type": "text", "analyzer": "whitespace"},
        "post_id": {"type": "long"},
        "author_id": {"type": "long"},
        "language": {"type": "keyword"},
        "created_at": {"type": "date"},
    },
}


# While a replay loads a fresh index: no refresh after each bulk request, no replica to copy to.
BULK_SETTINGS = {"refresh_interval": "-1", "number_of_replicas": 0}


class IndexingFailed(RuntimeError):
    pass


def document(post: Post) -> dict:
    return {
        "terms": " ".join(index_terms(post.body)) if post.searchable else "",
        "post_id": post.post_id,
        "author_id": post.author_id,
        "language": post.language,
        "created_at": post.created_at.isoformat() if post.created_at else None,
    }


class ElasticsearchSearchIndex:
    def __init__(self, client: AsyncElasticsearch, name: str, shards: int = 1, replicas: int = 0) -> None:
        self.client, self.name = client, name
        self.settings = {"number_of_shards": shards, "number_of_replicas": replicas}
        self._created: set[str] = set()
        self.loading: str | None = None  # the index a replay's bulk phase is loading

    @classmethod
    def connect(cls, url: str, name: str, shards: int = 1, replicas: int = 0) -> ElasticsearchSearchIndex:
        return cls(AsyncElasticsearch(url, request_timeout=30), name, shards, replicas)

    def index_of(self, schema: str) -> str:
        return f"{self.name}-{schema}"

    async def _ensure(self, index: str) -> None:
        if index in self._created:
            return
        try:
            await self.client.indices.create(index=index, settings=self.settings, mappings=MAPPINGS)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        if not await self.client.indices.exists_alias(name=self.name):
            await self.client.indices.put_alias(index=index, name=self.name)  # the first version is served
        self._created.add(index)

    async def write(self, conn, posts: Sequence[Post]) -> None:
        index = self.index_of(await schema_of(conn))
        await self._ensure(index)
        # The request body as NDJSON bytes, made by orjson: the client's stdlib encoder costs more
        # than building the documents. The answer keeps only each item's status (and error).
        lines = bytearray()
        for post in posts:
            action = {
                "_index": index,
                "_id": str(post.post_id),
                "version": post.version,
                "version_type": "external_gte",
            }
            lines += orjson.dumps({"index": action}) + b"\n" + orjson.dumps(document(post)) + b"\n"
        answer = await self.client.bulk(
            operations=bytes(lines),  # type: ignore[arg-type]  # serialized lines, as the client's async_bulk sends
            refresh=index != self.loading,
            filter_path=["errors", "items.*.status", "items.*.error"],
        )
        if answer["errors"]:
            failed = [
                item["index"]
                for item in answer["items"]
                if item["index"].get("status", 200) >= 300 and item["index"]["status"] != 409
            ]  # 409: a newer state is indexed already
            if failed:
                raise IndexingFailed(f"{len(failed)} of {len(posts)} posts not indexed: {failed[0].get('error')}")

    async def search(self, conn, request: SearchRequest) -> SearchHits:
        index = self.index_of(await schema_of(conn))
        try:
            try:
                return await self._search(index, request)
            except ApiError as exc:
                if exc.status_code != 503:
                    raise
                # No shard of the index could answer: one just created (or recovering) has not
                # started its primary yet. Wait for it once, then ask again.
                await self.client.cluster.health(index=index, wait_for_status="yellow", timeout="10s")
                return await self._search(index, request)
        except NotFoundError:
            return SearchHits([], 0)  # nothing indexed in this version yet

    async def search_posts(self, conn, request: SearchRequest) -> SearchPage:
        """The hits from the index, then their posts from the read model in one query."""
        hits = await self.search(conn, request)
        return SearchPage(await posts_in_order(conn, hits.post_ids), hits.total)

    async def _search(self, index: str, request: SearchRequest) -> SearchHits:
        found = await self.client.search(
            index=index,
            query={"match": {"terms": {"query": " ".join(request.terms), "operator": "and"}}},
            sort=[{"_score": {"order": "desc"}}, {"post_id": {"order": "desc"}}],
            from_=request.offset,
            size=request.per_page,
            track_total_hits=True,
            source=False,
        )
        hits = found["hits"]
        return SearchHits([int(hit["_id"]) for hit in hits["hits"]], hits["total"]["value"])

    async def start_bulk(self, conn) -> None:
        index = self.index_of(await schema_of(conn))
        await self._ensure(index)
        await self.client.indices.put_settings(index=index, settings={"index": BULK_SETTINGS})
        self.loading = index

    async def finish_bulk(self, conn) -> None:
        index = self.index_of(await schema_of(conn))
        restored = {"refresh_interval": None, "number_of_replicas": self.settings["number_of_replicas"]}
        await self.client.indices.put_settings(index=index, settings={"index": restored})  # None: the default
        await self.client.indices.refresh(index=index)
        self.loading = None

    async def read_model_switched(self, previous: str, schema: str, drop_previous: bool) -> None:
        current = self.index_of(schema)
        await self._ensure(current)
        await self.client.indices.update_aliases(
            actions=[
                {"remove": {"index": f"{self.name}-*", "alias": self.name, "must_exist": False}},
                {"add": {"index": current, "alias": self.name}},
            ]
        )
        if drop_previous:
            await self.client.indices.delete(index=self.index_of(previous), ignore_unavailable=True)
        log.info("alias %s now names %s", self.name, current)

    async def ready(self) -> None:
        health = await self.client.cluster.health(timeout="2s")
        if health["status"] == "red":
            raise RuntimeError("Elasticsearch cluster is red")

    async def close(self) -> None:
        await self.client.close()
