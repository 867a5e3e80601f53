"""POST /users/{id}/messages with an Idempotency-Key on real PostgreSQL: a retried message never doubles."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from messaging import handlers
from messaging.adapters.store import MessagingEventStore
from messaging.app import create_app
from messaging.settings import MessagingSettings
from microblog_shared.http.identity_client import IdentityUsers
from microblog_shared.runtime.db import create_engine
from microblog_shared.write.handling import utcnow


def keyed(user_id: int, key) -> dict:
    return {"X-User-Id": str(user_id), "Idempotency-Key": key}


async def sent_count(app) -> int:
    async with app.state.engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM events WHERE type = 'MessageSent'"))


async def test_a_retry_with_the_same_key_answers_the_first_message_and_appends_nothing(messaging, susan_john_and_mary):
    susan, john, _ = susan_john_and_mary
    first = await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(susan, "m-1"))
    again = await messaging.post(f"/users/{john}/messages", json={"body": " hi "}, headers=keyed(susan, "m-1"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["X-Consistency-Token"] == first.headers["X-Consistency-Token"]
    assert await sent_count(messaging.app) == 1
    inbox = (await messaging.get("/messages", headers={"X-User-Id": str(john)})).json()
    assert [m["id"] for m in inbox["items"]] == [first.json()["id"]]


async def test_another_key_another_sender_or_no_key_sends_anew(messaging, susan_john_and_mary):
    susan, john, mary = susan_john_and_mary
    await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(susan, "m-1"))
    await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(susan, "m-2"))
    await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(mary, "m-1"))
    await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers={"X-User-Id": str(susan)})
    assert await sent_count(messaging.app) == 4


@pytest.mark.parametrize("change", ["body", "recipient"])
async def test_a_key_sent_with_another_body_or_recipient_is_422_and_appends_nothing(
    messaging, susan_john_and_mary, change
):
    susan, john, mary = susan_john_and_mary
    await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(susan, "m-1"))
    recipient, body = (john, "bye") if change == "body" else (mary, "hi")
    response = await messaging.post(f"/users/{recipient}/messages", json={"body": body}, headers=keyed(susan, "m-1"))
    assert response.status_code == 422
    assert response.json()["error"] == "Unprocessable Entity"
    assert "another body" in response.json()["message"]
    assert await sent_count(messaging.app) == 1


async def test_a_key_older_than_24_hours_is_422(messaging, susan_john_and_mary, monkeypatch):
    susan, john, _ = susan_john_and_mary
    await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(susan, "m-1"))
    monkeypatch.setattr(handlers, "utcnow", lambda: utcnow() + timedelta(hours=24, seconds=1))
    response = await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(susan, "m-1"))
    assert response.status_code == 422 and "24 hours" in response.json()["message"]
    assert await sent_count(messaging.app) == 1


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"tab\there"])
async def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_400(messaging, susan_john_and_mary, key):
    susan, john, _ = susan_john_and_mary
    response = await messaging.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(susan, key))
    assert response.status_code == 400
    assert "idempotency-key" in response.json()["message"].lower()
    assert await sent_count(messaging.app) == 0


class BlindEventStore(MessagingEventStore):
    """Finds no kept key for its first `blind` lookups: each request believes it is the first with its key."""

    blind = 0

    async def sent_with_key(self, sender_id, key):
        if self.blind:
            self.blind -= 1
            return None
        return await super().sent_with_key(sender_id, key)


async def test_concurrent_requests_with_the_same_key_append_once(
    migrated_database, service_client, identity, susan_john_and_mary
):
    susan, john, _ = susan_john_and_mary
    settings = MessagingSettings(environment="test", database_url=migrated_database("messaging"))
    store = BlindEventStore(create_engine(settings.database_url), "messaging")
    store.blind = 3  # every request looks the key up before any appends: the key's row decides
    users = IdentityUsers.at(identity, timeout_seconds=5)
    app = create_app(settings, users, store=store)
    client = await service_client(app)
    answers = await asyncio.gather(
        *(client.post(f"/users/{john}/messages", json={"body": "hi"}, headers=keyed(susan, "m-1")) for _ in range(3))
    )
    await users.close()
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len({a.headers["X-Consistency-Token"] for a in answers}) == 1
    assert await sent_count(app) == 1
