"""Handlers over the in-memory store (conftest) and a fake detector: no database, no model."""

from datetime import UTC, datetime

import pytest

from microblog_shared.events import PostDeleted, PostEdited
from microblog_shared.write.eventstore import ConcurrencyError
from posts import handlers
from posts.domain import NotYourPost, PostNotFound

AUTHOR, STRANGER = 7, 8
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def fake_detector(text: str) -> str:
    return "es" if "hola" in text else "en"


def types(store, post_id=1):
    return [envelope.type for envelope in store.streams.get(f"post-{post_id}", [])]


def someone_edits(body):
    def edit(store):
        version = len(store.streams["post-1"])
        store.append_now(
            "post-1", version, [PostEdited(post_id=1, author_id=AUTHOR, body=body, language="en", edited_at=NOW)]
        )

    return edit


async def test_writing_a_post_detects_its_language_and_starts_its_stream(store):
    written = await handlers.write_post(store, fake_detector, AUTHOR, "  hola mundo ")
    assert (written.post.post_id, written.post.body, written.post.language) == (1, "hola mundo", "es")
    assert (written.last_event.stream_id, written.last_event.stream_version) == ("post-1", 1)
    assert types(store) == ["PostCreated"]


async def test_an_edit_appends_after_the_stream_s_last_version_with_the_new_language(store):
    await handlers.write_post(store, fake_detector, AUTHOR, "hello")
    written = await handlers.edit_post(store, fake_detector, 1, AUTHOR, "hola")
    assert (written.post.body, written.post.language, written.last_event.stream_version) == ("hola", "es", 2)
    assert types(store) == ["PostCreated", "PostEdited"]


async def test_an_unchanged_edit_appends_nothing_and_names_the_current_version(store):
    await handlers.write_post(store, fake_detector, AUTHOR, "hello")
    written = await handlers.edit_post(store, fake_detector, 1, AUTHOR, "hello ")
    assert written.last_event.stream_version == 1 and written.post.edited_at is None
    assert types(store) == ["PostCreated"]


async def test_a_deletion_is_appended_and_then_the_post_is_gone(store):
    await handlers.write_post(store, fake_detector, AUTHOR, "hello")
    assert (await handlers.delete_post(store, 1, AUTHOR)).post.deleted
    with pytest.raises(PostNotFound):
        await handlers.edit_post(store, fake_detector, 1, AUTHOR, "back?")
    assert types(store) == ["PostCreated", "PostDeleted"]


async def test_another_user_s_edit_or_delete_appends_nothing(store):
    await handlers.write_post(store, fake_detector, AUTHOR, "hello")
    with pytest.raises(NotYourPost):
        await handlers.edit_post(store, fake_detector, 1, STRANGER, "mine")
    with pytest.raises(NotYourPost):
        await handlers.delete_post(store, 1, STRANGER)
    assert types(store) == ["PostCreated"]


async def test_a_conflict_is_decided_again_on_the_new_state(store):
    await handlers.write_post(store, fake_detector, AUTHOR, "hello")
    store.before_next_appends.append(someone_edits("from another tab"))
    written = await handlers.edit_post(store, fake_detector, 1, AUTHOR, "hola")
    assert written.last_event.stream_version == 3
    assert [e.payload["body"] for e in store.streams["post-1"]] == ["hello", "from another tab", "hola"]


async def test_an_edit_racing_a_deletion_finds_the_post_gone_on_its_retry(store):
    await handlers.write_post(store, fake_detector, AUTHOR, "hello")
    store.before_next_appends.append(
        lambda s: s.append_now("post-1", 1, [PostDeleted(post_id=1, author_id=AUTHOR, deleted_at=NOW)])
    )
    with pytest.raises(PostNotFound):
        await handlers.edit_post(store, fake_detector, 1, AUTHOR, "too late")
    assert types(store) == ["PostCreated", "PostDeleted"]


async def test_a_second_conflict_in_a_row_surfaces(store):
    await handlers.write_post(store, fake_detector, AUTHOR, "hello")
    store.before_next_appends += [someone_edits("one"), someone_edits("two")]
    with pytest.raises(ConcurrencyError):
        await handlers.edit_post(store, fake_detector, 1, AUTHOR, "mine")
    assert [e.payload["body"] for e in store.streams["post-1"]] == ["hello", "one", "two"]
