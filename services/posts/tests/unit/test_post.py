from datetime import UTC, datetime, timedelta

import pytest

from microblog_shared.events import PostCreated, PostDeleted, PostEdited, UserFollowed
from posts.domain import (
    InvalidPost,
    NotYourPost,
    Post,
    PostNotFound,
    apply,
    create_post,
    delete_post,
    edit_post,
    replay,
)

NOW = datetime(2026, 11, 24, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
AUTHOR, STRANGER = 7, 8


def written(body="hello there", language="en") -> Post:
    return replay([create_post(3, AUTHOR, body, language, NOW)])


# --- create ---------------------------------------------------------------------------


def test_a_post_keeps_its_trimmed_body_author_and_language():
    post = create_post(3, AUTHOR, "  hello  ", "en", NOW)
    assert post == PostCreated(post_id=3, author_id=AUTHOR, body="hello", language="en", created_at=NOW)


@pytest.mark.parametrize("body", ["", "   ", "\n\t", "x" * 141])
def test_a_post_has_1_to_140_characters(body):
    with pytest.raises(InvalidPost):
        create_post(1, 1, body, "", NOW)


def test_140_characters_are_fine_and_counted_as_characters_not_bytes():
    assert len(create_post(1, 1, "é" * 140, "", NOW).body) == 140


def test_surrounding_blanks_do_not_count_towards_the_limit():
    assert create_post(1, 1, "  " + "x" * 140 + "  ", "", NOW).body == "x" * 140


# --- state ----------------------------------------------------------------------------


def test_a_post_never_written_does_not_exist():
    assert not Post().exists and replay([]) == Post()


def test_creation_makes_the_post_exist_with_its_author_and_body():
    assert written() == Post(
        exists=True, post_id=3, author_id=AUTHOR, body="hello there", language="en", created_at=NOW
    )


def test_an_edit_replaces_body_and_language_and_keeps_the_creation_time():
    post = apply(PostEdited(post_id=3, author_id=AUTHOR, body="hola", language="es", edited_at=LATER), written())
    assert (post.body, post.language, post.created_at, post.edited_at) == ("hola", "es", NOW, LATER)


def test_a_deletion_marks_the_post_deleted():
    post = apply(PostDeleted(post_id=3, author_id=AUTHOR, deleted_at=LATER), written())
    assert post.deleted and post.exists


def test_an_event_foreign_to_posts_is_refused_rather_than_ignored():
    with pytest.raises(TypeError):
        apply(UserFollowed(follower_id=1, followee_id=2, followed_at=NOW), written())


# --- edit -----------------------------------------------------------------------------


def test_the_author_edits_their_post():
    assert edit_post(written(), AUTHOR, "  bonjour à tous  ", "fr", LATER) == [
        PostEdited(post_id=3, author_id=AUTHOR, body="bonjour à tous", language="fr", edited_at=LATER)
    ]


def test_an_unchanged_body_is_no_edit():
    assert edit_post(written("same words"), AUTHOR, "  same words ", "en", LATER) == []


def test_someone_else_cannot_edit_a_post():
    with pytest.raises(NotYourPost, match="you can only edit your own posts"):
        edit_post(written(), STRANGER, "mine now", "en", LATER)


@pytest.mark.parametrize(
    "post",
    [Post(), replay([create_post(3, AUTHOR, "hi", "", NOW), PostDeleted(post_id=3, author_id=AUTHOR, deleted_at=NOW)])],
)
def test_a_missing_or_deleted_post_cannot_be_edited(post):
    with pytest.raises(PostNotFound):
        edit_post(post, AUTHOR, "still here?", "en", LATER)


@pytest.mark.parametrize("body", ["", "  ", "x" * 141])
def test_an_edit_follows_the_body_rules_of_creation(body):
    with pytest.raises(InvalidPost):
        edit_post(written(), AUTHOR, body, "", LATER)


def test_a_stranger_hears_forbidden_before_any_body_rule():
    with pytest.raises(NotYourPost):
        edit_post(written(), STRANGER, "", "", LATER)


# --- delete ---------------------------------------------------------------------------


def test_the_author_deletes_their_post():
    assert delete_post(written(), AUTHOR, LATER) == [PostDeleted(post_id=3, author_id=AUTHOR, deleted_at=LATER)]


def test_someone_else_cannot_delete_a_post():
    with pytest.raises(NotYourPost, match="you can only delete your own posts"):
        delete_post(written(), STRANGER, LATER)


def test_a_missing_post_cannot_be_deleted():
    with pytest.raises(PostNotFound):
        delete_post(Post(), AUTHOR, LATER)


def test_a_post_is_deleted_only_once():
    post = replay(delete_post(written(), AUTHOR, LATER), written())
    with pytest.raises(PostNotFound):
        delete_post(post, AUTHOR, LATER)
