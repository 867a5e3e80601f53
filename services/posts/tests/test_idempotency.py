"""POST /posts and POST /exports with an Idempotency-Key on real PostgreSQL: a retried write never doubles."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from microblog_shared.runtime.db import create_engine
from microblog_shared.write.handling import utcnow
from posts import handlers
from posts.adapters.store import PostsEventStore
from posts.app import create_app
from posts.settings import PostsSettings

AUTHOR, OTHER = {"X-User-Id": "7"}, {"X-User-Id": "8"}


def keyed(key, caller=AUTHOR):
    return {**caller, "Idempotency-Key": key}


async def streams(app):
    async with app.state.engine.connect() as conn:
        return list(await conn.scalars(text("SELECT stream_id FROM events ORDER BY position")))


async def test_a_retry_with_the_same_key_answers_the_first_post_and_appends_nothing(posts):
    first = await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-1"))
    again = await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-1"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["X-Consistency-Token"] == first.headers["X-Consistency-Token"]
    assert await streams(posts.app) == ["post-1"]


async def test_another_key_another_caller_or_no_key_writes_anew(posts):
    await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-1"))
    assert (await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-2"))).json()["id"] == 2
    other = await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-1", OTHER))
    assert other.json()["id"] == 3 and other.json()["author"] == {"id": 8}
    assert (await posts.post("/posts", json={"body": "hello"}, headers=AUTHOR)).json()["id"] == 4


async def test_a_key_sent_with_another_body_is_422_and_appends_nothing(posts):
    await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-1"))
    response = await posts.post("/posts", json={"body": "goodbye"}, headers=keyed("k-1"))
    assert response.status_code == 422
    assert response.json()["error"] == "Unprocessable Entity"
    assert "another body" in response.json()["message"]
    assert await streams(posts.app) == ["post-1"]


async def test_a_key_older_than_24_hours_is_422(posts, monkeypatch):
    await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-1"))
    monkeypatch.setattr(handlers, "utcnow", lambda: utcnow() + timedelta(hours=24, seconds=1))
    response = await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-1"))
    assert response.status_code == 422 and "24 hours" in response.json()["message"]
    monkeypatch.setattr(handlers, "utcnow", lambda: utcnow() + timedelta(hours=23))
    assert (await posts.post("/posts", json={"body": "hello"}, headers=keyed("k-1"))).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
async def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_400(posts, key):
    response = await posts.post("/posts", json={"body": "hello"}, headers={**AUTHOR, "Idempotency-Key": key.encode()})
    assert response.status_code == 400
    assert await streams(posts.app) == []


class BlindEventStore(PostsEventStore):
    """Sees no reservation for its first `blind` lookups: each request believes it is the first with its key."""

    blind = 0

    async def owner_of(self, kind, value):
        if self.blind:
            self.blind -= 1
            return None
        return await super().owner_of(kind, value)


async def test_concurrent_requests_with_the_same_key_append_once(migrated_database, service_client, detector):
    settings = PostsSettings(environment="test", database_url=migrated_database("posts"))
    store = BlindEventStore(create_engine(settings.database_url), "posts")
    store.blind = 2  # both requests look the key up before either appends: the reservation decides
    app = create_app(settings, detect_language=detector, store=store)
    client = await service_client(app)
    answers = await asyncio.gather(
        *(client.post("/posts", json={"body": "hello"}, headers=keyed("k-1")) for _ in range(2))
    )
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert answers[0].headers["X-Consistency-Token"] == answers[1].headers["X-Consistency-Token"]
    assert len(await streams(app)) == 1


# --- exports: a retry answers the same task, not a 409 ---------------------------------


async def exports_of(app) -> list[str]:
    return [stream for stream in await streams(app) if stream.startswith("export-")]


async def test_a_retried_export_answers_the_same_task_instead_of_409(posts):
    first = await posts.post("/exports", headers=keyed("e-1"))
    again = await posts.post("/exports", headers=keyed("e-1"))
    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["X-Consistency-Token"] == first.headers["X-Consistency-Token"]
    assert len(await exports_of(posts.app)) == 1


async def test_another_key_or_none_while_the_export_runs_is_still_409(posts):
    await posts.post("/exports", headers=keyed("e-1"))
    assert (await posts.post("/exports", headers=keyed("e-2"))).status_code == 409
    assert (await posts.post("/exports", headers={"X-User-Id": "7"})).status_code == 409


async def test_an_export_key_and_a_post_key_of_the_same_name_name_different_writes(posts):
    assert (await posts.post("/posts", json={"body": "hello"}, headers=keyed("k"))).status_code == 201
    assert (await posts.post("/exports", headers=keyed("k"))).status_code == 202
    assert len(await streams(posts.app)) == 2


async def test_an_export_key_older_than_24_hours_is_422(posts, monkeypatch):
    await posts.post("/exports", headers=keyed("e-1"))
    monkeypatch.setattr(handlers, "utcnow", lambda: utcnow() + timedelta(hours=24, seconds=1))
    response = await posts.post("/exports", headers=keyed("e-1"))
    assert response.status_code == 422 and "24 hours" in response.json()["message"]


@pytest.mark.parametrize("key", [b"x" * 256, b"bell\x07"])
async def test_an_export_with_a_bad_key_is_400_and_starts_nothing(posts, key):
    assert (await posts.post("/exports", headers=keyed(key))).status_code == 400
    assert await exports_of(posts.app) == []


async def test_concurrent_exports_with_the_same_key_start_one_task(migrated_database, service_client, detector):
    settings = PostsSettings(environment="test", database_url=migrated_database("posts"))
    store = BlindEventStore(create_engine(settings.database_url), "posts")
    store.blind = 2
    client = await service_client(create_app(settings, detect_language=detector, store=store))
    answers = await asyncio.gather(*(client.post("/exports", headers=keyed("e-1")) for _ in range(2)))
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
