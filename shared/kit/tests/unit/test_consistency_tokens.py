"""Consistency tokens: one or several in a header, and the list a client keeps across its writes."""

import pytest

from microblog_shared.read.consistency import MAX_TOKENS, ConsistencyToken, InvalidToken, remember


def test_a_header_may_carry_several_tokens_comma_separated():
    tokens = ConsistencyToken.parse_all("social.follows:follow-1-2:3, posts.posts:post-7:1")
    assert tokens == [
        ConsistencyToken("social.follows", "follow-1-2", 3),
        ConsistencyToken("posts.posts", "post-7", 1),
    ]
    assert ConsistencyToken.parse_all("posts.posts:post-7:1") == [ConsistencyToken("posts.posts", "post-7", 1)]


@pytest.mark.parametrize(
    "raw",
    [
        "posts.posts:post-1:1,",
        ",posts.posts:post-1:1",
        "posts.posts:post-1:1,,posts.posts:post-2:1",
        "posts.posts:post-1:1,garbage",
        "posts.posts:post-1:1;posts.posts:post-2:1",
        ",".join(f"posts.posts:post-{n}:1" for n in range(MAX_TOKENS + 1)),
    ],
)
def test_an_empty_or_malformed_token_or_too_many_of_them_are_refused(raw):
    with pytest.raises(InvalidToken, match="X-Consistency-Token"):
        ConsistencyToken.parse_all(raw)


def test_at_most_max_tokens_are_accepted():
    raw = ",".join(f"posts.posts:post-{n}:1" for n in range(MAX_TOKENS))
    assert len(ConsistencyToken.parse_all(raw)) == MAX_TOKENS


def test_a_client_keeps_the_newest_token_of_each_stream_newest_first():
    kept = remember(None, "posts.posts:post-1:1")
    assert kept == "posts.posts:post-1:1"
    kept = remember(kept, "social.follows:follow-1-2:1")
    assert kept == "social.follows:follow-1-2:1,posts.posts:post-1:1"
    kept = remember(kept, "posts.posts:post-1:2")  # the post edited: its stream moves to the front
    assert kept == "posts.posts:post-1:2,social.follows:follow-1-2:1"


def test_a_retried_write_answering_an_older_version_keeps_the_newer_one():
    assert remember("posts.posts:post-1:3", "posts.posts:post-1:1") == "posts.posts:post-1:3"


def test_the_list_is_bounded_dropping_the_oldest_and_what_does_not_parse():
    kept = None
    for n in range(MAX_TOKENS + 3):
        kept = remember(kept, f"posts.posts:post-{n}:1")
    tokens = ConsistencyToken.parse_all(kept)
    assert [t.stream_id for t in tokens] == [f"post-{n}" for n in range(MAX_TOKENS + 2, 2, -1)]
    assert (
        remember("garbage,posts.posts:post-1:1", "social.follows:f-1:1") == "social.follows:f-1:1,posts.posts:post-1:1"
    )
