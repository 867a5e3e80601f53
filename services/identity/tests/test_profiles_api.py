import asyncio
from datetime import datetime

import pytest

from identity.adapters import users
from microblog_shared.write.eventstore import ConcurrencyError


def as_user(user_id: int) -> dict:
    return {"X-User-Id": str(user_id)}


async def test_editing_about_me_answers_the_profile_and_records_every_current_value(identity, signed_up):
    user_id = await signed_up("susan")
    response = await identity.put(f"/users/{user_id}", json={"about_me": "I write things"}, headers=as_user(user_id))
    assert response.status_code == 200
    assert response.json()["about_me"] == "I write things" and response.json()["username"] == "susan"
    assert response.headers["X-Consistency-Token"] == f"identity.users:user-{user_id}:3"
    updated = (await identity.store.read_stream(f"user-{user_id}"))[-1]
    assert updated.type == "UserProfileUpdated"
    assert {k: updated.payload[k] for k in ("username", "email", "about_me")} == {
        "username": "susan",
        "email": "susan@example.com",
        "about_me": "I write things",
    }
    assert (await identity.get(f"/users/{user_id}")).json()["about_me"] == "I write things"


async def test_only_the_user_themself_may_edit_a_profile(identity, signed_up):
    susan, bob = await signed_up("susan"), await signed_up("bob")
    response = await identity.put(f"/users/{susan}", json={"about_me": "hacked"}, headers=as_user(bob))
    assert (response.status_code, response.json()["error"]) == (403, "Forbidden")
    assert (await identity.put(f"/users/{susan}", json={"about_me": "x"})).status_code == 401
    assert (await identity.get(f"/users/{susan}")).json()["about_me"] == ""


async def test_a_rename_frees_the_old_name_and_claims_the_new_one(identity, signed_up, new_user):
    susan = await signed_up("susan")
    renamed = await identity.put(f"/users/{susan}", json={"username": "Sue"}, headers=as_user(susan))
    assert renamed.status_code == 200 and renamed.json()["username"] == "Sue"
    assert (await identity.post("/users", json={**new_user("susan"), "email": "s2@example.com"})).status_code == 201
    taken = await identity.post("/users", json={**new_user("SUE"), "email": "SUE@example.com"})
    assert taken.json()["message"] == "please use a different username"


async def test_a_change_of_case_in_ones_own_name_is_allowed(identity, signed_up):
    susan = await signed_up("susan")
    response = await identity.put(f"/users/{susan}", json={"username": "Susan"}, headers=as_user(susan))
    assert (response.status_code, response.json()["username"]) == (200, "Susan")


async def test_taking_someone_elses_username_or_email_asks_for_another(identity, signed_up):
    await signed_up("susan")
    bob = await signed_up("bob")
    name = await identity.put(f"/users/{bob}", json={"username": "SUSAN"}, headers=as_user(bob))
    email = await identity.put(
        f"/users/{bob}",
        json={"email": "Susan@Example.com", "current_password": "a long password"},
        headers=as_user(bob),
    )
    assert (name.status_code, name.json()["message"]) == (400, "please use a different username")
    assert (email.status_code, email.json()["message"]) == (400, "please use a different email address")
    assert (await identity.get(f"/users/{bob}")).json()["username"] == "bob"


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "send at least one of username, email, about_me"),
        ({"password": "sneaky one"}, "password"),
        ({"username": None}, "username"),
        ({"about_me": "x" * 141}, "about_me must have at most 140 characters"),
        ({"email": "nope"}, "email is not a valid address"),
        ([], "dictionary"),
    ],
)
async def test_invalid_profile_edits_are_400s(identity, signed_up, body, message):
    susan = await signed_up("susan")
    response = await identity.put(f"/users/{susan}", json=body, headers=as_user(susan))
    assert response.status_code == 400 and message in response.json()["message"], response.text


async def test_an_edit_that_changes_nothing_still_answers_a_token_and_keeps_the_reservations(
    identity, signed_up, new_user
):
    susan = await signed_up("susan")
    response = await identity.put(f"/users/{susan}", json={"username": "susan"}, headers=as_user(susan))
    assert (response.status_code, response.headers["X-Consistency-Token"]) == (200, f"identity.users:user-{susan}:3")
    taken = await identity.post("/users", json={**new_user("SUSAN"), "email": "x@example.com"})
    assert taken.json()["message"] == "please use a different username"


async def test_two_users_racing_for_one_username_leave_exactly_one_winner(identity, signed_up, monkeypatch):
    ada, bob = await signed_up("ada"), await signed_up("bob")
    load, loaded, both_loaded = users.load, [], asyncio.Event()

    async def load_then_wait_for_the_other(engine, user_id):
        user = await load(engine, user_id)
        loaded.append(user_id)
        if len(loaded) == 2:
            both_loaded.set()
        await both_loaded.wait()  # both have decided "prize is free for me" before either appends
        return user

    monkeypatch.setattr(users, "load", load_then_wait_for_the_other)
    responses = await asyncio.gather(
        *(identity.put(f"/users/{who}", json={"username": "prize"}, headers=as_user(who)) for who in (ada, bob))
    )
    assert sorted(r.status_code for r in responses) == [200, 400]
    loser = next(r for r in responses if r.status_code == 400)
    assert loser.json()["message"] == "please use a different username"
    names = {(await identity.get(f"/users/{who}")).json()["username"] for who in (ada, bob)}
    assert "prize" in names and len(names) == 2


async def test_an_edit_that_loses_a_race_is_retried_once_and_both_edits_land(identity, signed_up, monkeypatch):
    susan = await signed_up("susan")
    store, conflicts, loads, other_edit_done = identity.app.state.store, [], [], asyncio.Event()
    append, load = store.append, users.load

    async def noting_conflicts(*args, **kwargs):
        try:
            return await append(*args, **kwargs)
        except ConcurrencyError:
            conflicts.append(args[0])
            raise

    async def first_load_goes_stale(engine, user_id):
        loads.append(user_id)
        user = await load(engine, user_id)
        if len(loads) == 1:
            await other_edit_done.wait()  # the other edit lands between this load and its append
        return user

    monkeypatch.setattr(store, "append", noting_conflicts)
    monkeypatch.setattr(users, "load", first_load_goes_stale)
    slow = asyncio.create_task(identity.put(f"/users/{susan}", json={"about_me": "racing"}, headers=as_user(susan)))
    while not loads:
        await asyncio.sleep(0.01)
    fast = await identity.put(f"/users/{susan}", json={"username": "sue"}, headers=as_user(susan))
    other_edit_done.set()
    assert [fast.status_code, (await slow).status_code] == [200, 200]
    assert conflicts == [f"user-{susan}"] and len(loads) == 3
    profile = (await identity.get(f"/users/{susan}")).json()
    assert (profile["about_me"], profile["username"]) == ("racing", "sue")


async def test_an_edit_that_keeps_losing_races_is_a_409_after_one_retry(identity, signed_up, monkeypatch):
    susan = await signed_up("susan")
    attempts = []

    async def always_moved_on(stream_id, expected_version, events, **kwargs):
        attempts.append(expected_version)
        raise ConcurrencyError(stream_id, expected_version, expected_version + 1)

    monkeypatch.setattr(identity.app.state.store, "append", always_moved_on)
    response = await identity.put(f"/users/{susan}", json={"about_me": "x"}, headers=as_user(susan))
    assert (response.status_code, response.json()["error"], len(attempts)) == (409, "Conflict", 2)


async def test_activity_is_recorded_at_most_once_a_minute(identity, signed_up):
    susan = await signed_up("susan")  # registering is the first sighting
    assert (await identity.post(f"/users/{susan}/seen")).status_code == 204
    assert [e.type for e in await identity.store.read_stream(f"user-{susan}")].count("UserSeen") == 0
    identity.clock.advance(seconds=60)
    assert (await identity.post(f"/users/{susan}/seen")).status_code == 204
    first = identity.clock.now
    assert (await identity.get(f"/users/{susan}")).json()["last_seen"] == first.isoformat().replace("+00:00", "Z")
    identity.clock.advance(seconds=59)
    assert (await identity.post(f"/users/{susan}/seen")).status_code == 204
    assert [e.type for e in await identity.store.read_stream(f"user-{susan}")].count("UserSeen") == 1
    identity.clock.advance(seconds=1)
    await identity.post(f"/users/{susan}/seen")
    seen = [e for e in await identity.store.read_stream(f"user-{susan}") if e.type == "UserSeen"]
    assert [datetime.fromisoformat(e.payload["last_seen"]) for e in seen] == [first, identity.clock.now]
    assert (await identity.post("/users/999/seen")).status_code == 404
