"""Idempotency-Key on identity's anonymous writes: registration and the reset mail never double."""

import asyncio

import pytest

from identity.adapters.store import IdentityEventStore
from identity.app import create_app
from microblog_shared.runtime.db import create_engine
from microblog_shared.runtime.settings import Settings


def keyed(key) -> dict:
    return {"Idempotency-Key": key}


async def registrations(identity) -> list[str]:
    return [e.payload["username"] for e in await identity.store.read_all() if e.type == "UserRegistered"]


async def reset_mails(identity) -> int:
    return sum(e.type == "PasswordResetRequested" for e in await identity.store.read_all())


async def test_a_retried_registration_answers_the_first_201_and_the_same_user(identity, new_user):
    first = await identity.post("/users", json=new_user("susan"), headers=keyed("r-1"))
    again = await identity.post("/users", json=new_user("susan"), headers=keyed("r-1"))
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["X-Consistency-Token"] == first.headers["X-Consistency-Token"]
    assert await registrations(identity) == ["susan"]


async def test_without_a_key_or_with_another_one_the_retry_is_a_taken_username(identity, new_user):
    await identity.post("/users", json=new_user("susan"), headers=keyed("r-1"))
    for headers in ({}, keyed("r-2")):
        response = await identity.post("/users", json=new_user("susan"), headers=headers)
        assert (response.status_code, response.json()["message"]) == (400, "please use a different username")


async def test_the_same_key_for_another_username_registers_that_one(identity, new_user):
    await identity.post("/users", json=new_user("susan"), headers=keyed("r-1"))
    assert (await identity.post("/users", json=new_user("john"), headers=keyed("r-1"))).status_code == 201
    assert await registrations(identity) == ["susan", "john"]


@pytest.mark.parametrize(
    "change", [{"email": "other@example.com"}, {"password": "another long one"}, {"about_me": "hi"}]
)
async def test_the_same_key_and_username_with_another_body_is_422(identity, new_user, change):
    await identity.post("/users", json=new_user("susan"), headers=keyed("r-1"))
    response = await identity.post("/users", json=new_user("susan", **change), headers=keyed("r-1"))
    assert response.status_code == 422
    assert response.json()["error"] == "Unprocessable Entity" and "another body" in response.json()["message"]
    assert await registrations(identity) == ["susan"]


async def test_a_registration_key_older_than_24_hours_is_422(identity, new_user):
    await identity.post("/users", json=new_user("susan"), headers=keyed("r-1"))
    identity.clock.advance(hours=24, seconds=1)
    response = await identity.post("/users", json=new_user("susan"), headers=keyed("r-1"))
    assert response.status_code == 422 and "24 hours" in response.json()["message"]


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"tab\there"])
async def test_a_bad_key_is_400_and_registers_nobody(identity, new_user, key):
    response = await identity.post("/users", json=new_user("susan"), headers=keyed(key))
    assert response.status_code == 400 and "idempotency-key" in response.json()["message"].lower()
    assert await registrations(identity) == []


class BlindEventStore(IdentityEventStore):
    """Sees no reservation for its first `blind` lookups: each request believes it is the first with its key."""

    blind = 0

    async def owner_of(self, kind, value):
        if self.blind:
            self.blind -= 1
            return None
        return await super().owner_of(kind, value)


async def test_concurrent_registrations_with_the_same_key_register_once(migrated_database, service_client, new_user):
    url = migrated_database("identity")
    store = BlindEventStore(create_engine(url), "identity")
    store.blind = 2
    settings = Settings(environment="test", service_name="identity", database_url=url, jwt_secret="s" * 40)
    client = await service_client(create_app(settings, store=store))
    answers = await asyncio.gather(*(client.post("/users", json=new_user("susan"), headers=keyed("r-1")) for _ in "ab"))
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]


async def test_a_retried_reset_request_mails_once_even_after_the_resend_interval(identity, signed_up):
    await signed_up("susan")
    for _ in range(2):
        response = await identity.post("/password-resets", json={"email": "susan@example.com"}, headers=keyed("p-1"))
        assert response.status_code == 202
        identity.clock.advance(seconds=61)
    assert await reset_mails(identity) == 1
    # The same address later with another key (or none) is a new request: a new mail.
    await identity.post("/password-resets", json={"email": "SUSAN@example.com"}, headers=keyed("p-2"))
    assert await reset_mails(identity) == 2


async def test_a_reset_request_with_a_bad_key_is_400_and_mails_nothing(identity, signed_up):
    await signed_up("susan")
    response = await identity.post("/password-resets", json={"email": "susan@example.com"}, headers=keyed(b"x" * 256))
    assert response.status_code == 400
    assert await reset_mails(identity) == 0
