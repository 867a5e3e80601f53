"""The local Elasticsearch node serves the official async client, unmodified.

The node comes from `deploy/local/elasticsearch.py` (Maven Central jars). It has the `standard`,
`simple`, `whitespace`, `keyword` and `stop` analyzers, but not analysis-common (`english`,
`asciifolding`), mapper-extras, reindex (`*_by_query`), painless, rest-root (`info()` and
`ping()` answer 405) or x-pack; the search adapter must not need them in tests.
"""

from __future__ import annotations

import uuid

import pytest
from elasticsearch import AsyncElasticsearch, ConflictError

pytestmark = pytest.mark.elasticsearch


@pytest.fixture
async def es(elasticsearch_url):
    client = AsyncElasticsearch(elasticsearch_url, request_timeout=30)
    yield client
    await client.close()


@pytest.fixture
async def posts_index(es):
    name = f"posts-{uuid.uuid4().hex[:8]}"
    await es.indices.create(
        index=name,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={
            "properties": {
                "body": {"type": "text", "analyzer": "standard"},
                "author": {"type": "keyword"},
            }
        },
    )
    yield name
    await es.indices.delete(index=name)


async def test_search_ranks_posts_that_mention_the_term_more_often_first(es, posts_index):
    posts = {
        "p1": "Kafka and PostgreSQL",
        "p2": "KAFKA, kafka, Kafka: all about Kafka",
        "p3": "Nothing to see here",
    }
    for post_id, body in posts.items():
        await es.index(
            index=posts_index, id=post_id, document={"body": body, "author": "ada"}, version=1, version_type="external"
        )
    await es.indices.refresh(index=posts_index)

    found = await es.search(index=posts_index, query={"match": {"body": "kafka"}})

    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["p2", "p1"]
    assert found["hits"]["hits"][0]["_score"] > found["hits"]["hits"][1]["_score"]


async def test_an_older_external_version_is_refused_and_the_newer_document_stays(es, posts_index):
    await es.index(index=posts_index, id="p1", document={"body": "first draft"}, version=5, version_type="external")
    await es.index(index=posts_index, id="p1", document={"body": "edited"}, version=7, version_type="external")

    with pytest.raises(ConflictError) as refused:
        await es.index(index=posts_index, id="p1", document={"body": "late replay"}, version=6, version_type="external")

    assert refused.value.meta.status == 409
    stored = await es.get(index=posts_index, id="p1")
    assert (stored["_version"], stored["_source"]["body"]) == (7, "edited")
