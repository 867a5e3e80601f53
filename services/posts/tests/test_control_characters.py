"""Control characters never reach the store, and a statement that fails can't spoil the pool."""

import pytest
from sqlalchemy.exc import DataError

from microblog_shared.write.eventstore import EventStore
from posts import handlers

AUTHOR = {"X-User-Id": "7"}


@pytest.mark.parametrize("body", ["a\x00b", "bell\x07", "esc\x1b[31m", "c1\x85"])
async def test_a_control_character_in_a_body_is_400_and_appends_nothing(posts, body):
    response = await posts.post("/posts", json={"body": body}, headers=AUTHOR)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Bad Request"
    assert await EventStore(posts.app.state.engine, "posts").read_all() == []


async def test_a_control_character_in_an_edit_is_400(posts):
    assert (await posts.post("/posts", json={"body": "hello there"}, headers=AUTHOR)).status_code == 201
    response = await posts.put("/posts/1", json={"body": "a\x00b"}, headers=AUTHOR)
    assert response.status_code == 400, response.text
    assert len(await EventStore(posts.app.state.engine, "posts").read_all()) == 1


async def test_line_breaks_and_tabs_stay_allowed(posts):
    response = await posts.post("/posts", json={"body": "one\r\ntwo\tthree"}, headers=AUTHOR)
    assert response.status_code == 201, response.text


async def test_after_a_nul_sent_past_validation_the_next_post_succeeds(posts):
    store, detector = posts.app.state.store, posts.app.state.detect_language
    for _ in range(12):  # more than the pool holds: every connection has seen a failed statement
        with pytest.raises(DataError):
            await handlers.write_post(store, detector, 7, "a\x00b")
    response = await posts.post("/posts", json={"body": "still here"}, headers=AUTHOR)
    assert response.status_code == 201, response.text
