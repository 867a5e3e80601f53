"""The projector keeps the index in step with the posts and their authors, exactly once in effect."""

from __future__ import annotations

import pytest


async def test_posts_edits_and_deletes_are_reflected_in_search(world):
    await world.register(1, "ada")
    await world.post(1, 1, "Kafka keeps every event")
    await world.post(2, 1, "PostgreSQL keeps every row")
    assert await world.found("keeps") == [2, 1]
    await world.edit(1, 1, "Kafka retains every event")
    assert await world.found("keeps") == [2]
    assert await world.found("retains") == [1]
    await world.delete(2, 1)
    assert await world.found("every") == [1]


async def test_a_renamed_author_shows_under_the_new_name(world):
    await world.register(1, "ada")
    await world.post(1, 1, "hello search")
    await world.rename(1, "lovelace")
    item = (await world.search("hello")).json()["items"][0]
    assert item["author"]["username"] == "lovelace"


async def test_a_redelivered_event_changes_nothing(world):
    await world.register(1)
    created = await world.post(1, 1, "first words")
    await world.edit(1, 1, "second words")
    await world.events.publish(created)  # a relay's re-send after a restart
    await world.events.publish(created)
    assert await world.found("second") == [1]
    assert await world.found("first") == []


async def test_a_late_create_after_a_delete_does_not_bring_the_post_back(world):
    await world.register(1)
    created = await world.post(1, 1, "short lived")
    await world.delete(1, 1)
    assert await world.found("lived") == []
    await world.events.publish(created)
    assert await world.found("lived") == []


@pytest.mark.parametrize(
    "language, body, q",
    [("es", "El niño comió paella en València", "nino valencia"), ("zh", "我们明天去北京吃烤鸭", "北京 烤鸭")],
)
async def test_posts_in_other_languages_are_found(world, language, body, q):
    await world.register(1)
    await world.post(1, 1, body, language=language)
    items = (await world.search(q)).json()["items"]
    assert [(p["id"], p["language"], p["body"]) for p in items] == [(1, language, body)]
