from datetime import datetime, timezone

import pytest

from posts.domain import InvalidPost, create_post

NOW = datetime(2026, 11, 24, tzinfo=timezone.utc)


def test_a_post_keeps_its_trimmed_body_and_author():
    post = create_post(3, 7, "  hello  ", NOW)
    assert (post.post_id, post.author_id, post.body, post.created_at) == (3, 7, "hello", NOW)


@pytest.mark.parametrize("body", ["", "   ", "x" * 141])
def test_a_post_has_1_to_140_characters(body):
    with pytest.raises(InvalidPost):
        create_post(1, 1, body, NOW)


def test_140_characters_are_fine():
    assert len(create_post(1, 1, "é" * 140, NOW).body) == 140
