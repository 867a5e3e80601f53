"""One contract for every search adapter (PostgreSQL full-text search, Elasticsearch)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from search_indexer.adapters.elasticsearch import ElasticsearchSearchIndex
from search_indexer.domain.posts import Post
from search_indexer.domain.search import SearchRequest

AT = datetime(2026, 11, 24, 12, tzinfo=UTC)


def post(post_id: int, body: str, version: int = 1, **changes) -> Post:
    return replace(
        Post(post_id, version, author_id=1, body=body, language="en", created_at=AT + timedelta(seconds=post_id)),
        **changes,
    )


async def write(index_and_engine, *posts: Post) -> None:
    index, engine = index_and_engine
    async with engine.begin() as conn:
        await index.write(conn, list(posts))


async def term_indexes(engine) -> list[str]:
    async with engine.connect() as conn:
        found = await conn.scalars(
            text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'post_terms' ORDER BY 1")
        )
        return list(found)


async def search(index_and_engine, q: str, page: int = 1, per_page: int = 10) -> tuple[list[int], int]:
    index, engine = index_and_engine
    async with engine.connect() as conn:
        hits = await index.search(conn, SearchRequest.parse(q, page, per_page))
    return hits.post_ids, hits.total


async def test_a_post_is_found_by_any_of_its_words_whatever_their_case_and_accents(index_and_engine):
    await write(index_and_engine, post(1, "Café con leche, por favor"), post(2, "Tea with milk"))
    for q in ("cafe", "CAFÉ", "Leche", "favor"):
        assert await search(index_and_engine, q) == ([1], 1), q
    assert await search(index_and_engine, "coffee") == ([], 0)


async def test_every_word_of_the_query_must_match(index_and_engine):
    await write(index_and_engine, post(1, "Kafka and PostgreSQL"), post(2, "Kafka alone"), post(3, "PostgreSQL alone"))
    assert await search(index_and_engine, "postgresql kafka") == ([1], 1)


async def test_posts_that_mention_a_word_more_often_rank_first_and_ties_go_newest_first(index_and_engine):
    await write(
        index_and_engine,
        post(1, "kafka once, then many other words about nothing in particular"),
        post(2, "Kafka, KAFKA, kafka: all about Kafka"),
        post(3, "nothing to see"),
        post(4, "kafka once, then many other words about nothing in particular"),
    )
    assert await search(index_and_engine, "kafka") == ([2, 4, 1], 3)


async def test_pages_split_the_ranked_hits_and_the_total_counts_them_all(index_and_engine):
    await write(index_and_engine, *[post(i, f"same words number {i}") for i in range(1, 26)], post(99, "other"))
    assert await search(index_and_engine, "same words", page=1) == (list(range(25, 15, -1)), 25)
    assert await search(index_and_engine, "same words", page=3) == ([5, 4, 3, 2, 1], 25)
    assert await search(index_and_engine, "same words", page=4) == ([], 25)


async def test_chinese_text_is_found_by_its_words_and_characters(index_and_engine):
    await write(index_and_engine, post(1, "我喜欢北京烤鸭"), post(2, "上海的小笼包"), post(3, "I like Peking duck"))
    assert await search(index_and_engine, "北京") == ([1], 1)
    assert await search(index_and_engine, "烤鸭 北京") == ([1], 1)
    assert await search(index_and_engine, "鸭") == ([1], 1)
    assert await search(index_and_engine, "北鸭") == ([], 0)  # the characters, but not together
    assert await search(index_and_engine, "小笼包") == ([2], 1)


async def test_query_syntax_characters_are_plain_separators(index_and_engine):
    await write(index_and_engine, post(1, "kafka: it's (really) *fast*"), post(2, "nothing"))
    for q in (
        '"kafka"',
        "(kafka)",
        "kafka:",
        "kafka*",
        "kafka\\",
        "it's",
        "+kafka -fast",
        "kafka~ fast^",
        "kafka && fast ||",
        "{kafka} [fast] /really/",
        "fast:kafka",
        "<kafka> 'fast' !really? %",
    ):
        assert (await search(index_and_engine, q))[0] == [1], q


async def test_the_newest_version_wins_and_redelivery_changes_nothing(index_and_engine):
    first, edited = post(1, "first draft"), post(1, "edited text", version=2, edited_at=AT)
    await write(index_and_engine, first)
    await write(index_and_engine, edited)
    await write(index_and_engine, first)  # a late redelivery of the older state
    await write(index_and_engine, edited)
    assert await search(index_and_engine, "draft") == ([], 0)
    assert await search(index_and_engine, "edited") == ([1], 1)


async def test_a_deleted_post_is_gone_and_a_late_create_cannot_bring_it_back(index_and_engine):
    await write(index_and_engine, post(1, "soon gone"), post(2, "soon staying"))
    await write(index_and_engine, post(1, "", version=3, deleted=True))
    await write(index_and_engine, post(1, "soon gone"))  # version 1 again, delivered late
    assert await search(index_and_engine, "soon") == ([2], 1)


async def test_a_post_not_created_yet_is_not_found(index_and_engine):
    await write(index_and_engine, post(1, "edited before created", version=2, created_at=None))
    assert await search(index_and_engine, "edited") == ([], 0)
    await write(index_and_engine, post(1, "edited before created", version=2))
    assert await search(index_and_engine, "edited") == ([1], 1)


async def test_an_empty_index_finds_nothing(index_and_engine):
    assert await search(index_and_engine, "anything") == ([], 0)


async def test_an_index_loaded_in_bulk_serves_every_post_once_finished(index_and_engine, served_settings):
    index, engine = index_and_engine
    async with engine.begin() as conn:
        await index.start_bulk(conn)
    if isinstance(index, ElasticsearchSearchIndex):  # no refresh after each write, no replica to copy to
        assert await served_settings(index, "public") == {"refresh_interval": "-1", "replicas": "0"}
    else:  # no GIN index to maintain row by row
        assert await term_indexes(engine) == ["post_terms_pkey"]
    await write(index_and_engine, *[post(i, f"bulk loaded post {i}") for i in range(1, 31)])
    await write(index_and_engine, post(7, "edited", version=2))
    async with engine.begin() as conn:
        await index.finish_bulk(conn)

    assert await search(index_and_engine, "loaded", per_page=50) == ([*range(30, 7, -1), *range(6, 0, -1)], 29)
    assert await search(index_and_engine, "edited") == ([7], 1)
    if isinstance(index, ElasticsearchSearchIndex):
        assert await served_settings(index, "public") == {"refresh_interval": None, "replicas": "0"}
    else:
        assert await term_indexes(engine) == ["post_terms_pkey", "post_terms_search"]
