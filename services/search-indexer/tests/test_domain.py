"""The domain, without I/O: terms for indexing and queries, post states folded from events, search requests."""

from datetime import UTC, datetime
from itertools import permutations

import pytest

from microblog_shared.events import PostCreated, PostDeleted, PostEdited
from search_indexer.domain.analysis import index_terms, query_terms
from search_indexer.domain.posts import fold
from search_indexer.domain.search import MAX_QUERY_TERMS, InvalidSearch, SearchRequest

AT = datetime(2026, 11, 24, 12, tzinfo=UTC)
CREATED = (PostCreated(post_id=1, author_id=7, body="first words", language="en", created_at=AT), 1)
EDITED = (PostEdited(post_id=1, author_id=7, body="second words", language="en", edited_at=AT), 2)
EDITED_AGAIN = (PostEdited(post_id=1, author_id=7, body="third words", language="es", edited_at=AT), 3)
DELETED = (PostDeleted(post_id=1, author_id=7, deleted_at=AT), 4)


def folded(events):
    post = None
    for event, version in events:
        post = fold(event, post, version)
    return post


def test_words_are_case_folded_and_lose_their_accents():
    assert index_terms("Café, NIÑO y Straße!") == ["cafe", "nino", "y", "strasse"]
    assert query_terms("CAFE niño") == ["cafe", "nino"]


def test_chinese_is_indexed_as_characters_and_pairs_and_queried_by_pairs():
    assert index_terms("北京烤鸭") == ["北", "北京", "京", "京烤", "烤", "烤鸭", "鸭"]
    assert query_terms("烤鸭") == ["烤鸭"]
    assert query_terms("鸭") == ["鸭"]
    assert query_terms("在北京 kafka") == ["在北", "北京", "kafka"]


def test_query_syntax_characters_only_separate_words():
    assert query_terms('"kafka" AND (post:gres*) \\ -x | y & z ! _ \'') == [
        "kafka",
        "and",
        "post",
        "gres",
        "x",
        "y",
        "z",
    ]
    assert query_terms('"():*\\') == []


def test_query_terms_are_kept_once():
    assert query_terms("kafka Kafka KAFKA") == ["kafka"]


@pytest.mark.parametrize(
    "q, message",
    [
        ("", "no words"),
        ("  ", "no words"),
        ('"():*\\', "no words"),
        ("x" * 201, "longer than"),
        (" ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 1)), "more than"),
    ],
)
def test_a_search_without_usable_words_is_refused(q, message):
    with pytest.raises(InvalidSearch, match=message):
        SearchRequest.parse(q, 1, 10)


def test_pages_stop_at_the_result_window():
    assert SearchRequest.parse("kafka", 100, 100).offset == 9_900
    with pytest.raises(InvalidSearch, match="stop at"):
        SearchRequest.parse("kafka", 101, 100)


def test_the_newest_content_wins_in_any_order_and_redelivery_changes_nothing():
    events = [CREATED, EDITED, EDITED_AGAIN]
    states = {folded(order) for order in permutations(events + [EDITED])}
    assert len(states) == 1
    (post,) = states
    assert (post.version, post.body, post.language, post.created_at, post.searchable) == (
        3,
        "third words",
        "es",
        AT,
        True,
    )


def test_a_deleted_post_stays_deleted_whatever_comes_late():
    for order in permutations([CREATED, EDITED, DELETED]):
        post = folded(order)
        assert post.deleted and not post.searchable and post.body == "" and post.version == 4, order


def test_an_edit_before_its_create_is_not_searchable_until_the_create_arrives():
    early = folded([EDITED])
    assert not early.searchable
    assert folded([EDITED, CREATED]) == folded([CREATED, EDITED])
