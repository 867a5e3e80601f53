"""The search read API: public post shapes, pages, consistency waits, and 400s for what clients send."""

from __future__ import annotations

import asyncio

import pytest

from microblog_shared.http.views import avatar


async def test_a_search_answers_a_post_collection_best_match_first(world):
    await world.register(1, "susan")
    await world.post(1, 1, "kafka once")
    await world.post(2, 1, "kafka kafka kafka")
    body = (await world.search("Kafka", per_page=1)).json()
    first = body["items"][0]
    assert first == {
        "id": 2,
        "body": "kafka kafka kafka",
        "language": "en",
        "timestamp": first["timestamp"],
        "edited_at": None,
        "author": {
            "id": 1,
            "username": "susan",
            "_links": {"self": "/api/users/1", "avatar": avatar("susan@example.com", 36)},
        },
        "_links": {"self": "/api/posts/2", "author": "/api/users/1"},
    }
    assert body["_meta"] == {"page": 1, "per_page": 1, "total_pages": 2, "total_items": 2, "next_after": None}
    assert body["_links"]["next"] == "/api/search?q=Kafka&page=2&per_page=1"
    assert [p["id"] for p in (await world.search("kafka", page=2, per_page=1)).json()["items"]] == [1]


async def test_a_search_waits_for_the_callers_post(world):
    await world.register(1)
    await world.settle()
    searching = asyncio.create_task(
        world.client.get("/search", params={"q": "fresh"}, headers={"X-Consistency-Token": "posts.posts:post-5:1"})
    )
    await asyncio.sleep(0.3)
    assert not searching.done()
    await world.post(5, 1, "a fresh post")
    response = await searching
    assert response.headers["X-Consistency-Reached"] == "true"
    assert [p["id"] for p in response.json()["items"]] == [5]


async def test_the_wait_is_bounded(world):
    started = asyncio.get_running_loop().time()
    response = await world.client.get(
        "/search",
        params={"q": "x"},
        headers={"X-Consistency-Token": "posts.posts:post-99:1", "X-Consistency-Timeout": "0.3"},
    )
    assert 0.25 < asyncio.get_running_loop().time() - started < 1.5
    assert (response.status_code, response.headers["X-Consistency-Reached"]) == (200, "false")


@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "no words"),
        ({"q": '"()*:\\'}, "no words"),
        ({"q": "x" * 201}, "q"),
        ({"q": " ".join(["w"] * 10 + [f"w{i}" for i in range(40)])}, "more than"),
        ({"q": "kafka", "page": 0}, "page"),
        ({"q": "kafka", "page": -1}, "page"),
        ({"q": "kafka", "page": "two"}, "page"),
        ({"q": "kafka", "page": 10**30}, "page"),
        ({"q": "kafka", "per_page": 0}, "per_page"),
        ({"q": "kafka", "per_page": 101}, "per_page"),
        ({"q": "kafka", "page": 101, "per_page": 100}, "stop at"),
    ],
)
async def test_what_a_client_gets_wrong_is_a_400_that_says_why(world, params, message):
    response = await world.client.get("/search", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Bad Request" and message in body["message"]


async def test_malformed_consistency_tokens_are_400(world):
    response = await world.client.get("/search", params={"q": "x"}, headers={"X-Consistency-Token": "garbage"})
    assert response.status_code == 400
    assert "X-Consistency-Token" in response.json()["message"]


async def test_query_syntax_and_odd_text_never_fail(world):
    await world.register(1)
    await world.post(1, 1, "it's 100% fine")
    for q in ['"', "(", ")", ":", "*", "\\", "'", "&", "|", "!", "<->", "a:*", "\x00x", "🙂 fine", "ﬁne"]:
        response = await world.search(q)
        assert response.status_code in (200, 400), (q, response.text)
    assert await world.found("FINE 100") == [1]


async def test_a_repeated_search_is_answered_from_the_kept_answer_until_the_read_model_changes(world):
    await world.register(1, "susan")
    await world.post(1, 1, "kafka once")
    first = await world.search("kafka")
    assert ("kafka", 1, 10) in world.app.state.answers
    assert (await world.client.get("/search", params={"q": "kafka"})).content == first.content
    await world.post(2, 1, "kafka again")
    assert await world.found("kafka") == [2, 1]
    await world.rename(1, "susanna")
    assert {p["author"]["username"] for p in (await world.search("kafka")).json()["items"]} == {"susanna"}
    await world.delete(2, 1)
    assert await world.found("kafka") == [1]


async def test_a_caller_whose_write_is_reached_never_gets_an_answer_kept_from_before_it(world):
    await world.register(1)
    assert await world.found("fresh") == []  # kept: nothing matches
    envelope = await world.post(3, 1, "a fresh post")
    response = await world.client.get(
        "/search", params={"q": "fresh"}, headers={"X-Consistency-Token": world.events.token(envelope)}
    )
    assert response.headers["X-Consistency-Reached"] == "true"
    assert [p["id"] for p in response.json()["items"]] == [3]


async def test_no_answer_is_kept_when_the_cache_is_off(make_world):
    world = await make_world(search_cache_entries=0)
    await world.register(1)
    await world.post(1, 1, "kafka")
    assert await world.found("kafka") == [1]
    assert ("kafka", 1, 10) not in world.app.state.answers and len(world.app.state.answers) == 0
