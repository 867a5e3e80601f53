import asyncio

import pytest
from sqlalchemy import text


async def test_register_answers_201_with_location_the_profile_and_a_consistency_token(identity, new_user):
    response = await identity.post("/users", json=new_user("susan", about_me="hi"))
    assert response.status_code == 201
    assert response.headers["Location"] == "/api/users/1"
    assert response.headers["X-Consistency-Token"] == "identity.users:user-1:1"
    body = response.json()
    assert body == {
        "id": 1,
        "username": "susan",
        "email": "susan@example.com",
        "about_me": "hi",
        "last_seen": body["registered_at"],  # as the seed: an account is seen when it is made
        "registered_at": body["registered_at"],
    }
    assert body["registered_at"] == identity.clock.now.isoformat().replace("+00:00", "Z")


async def test_the_request_correlation_id_is_carried_by_the_events(identity, new_user):
    await identity.post("/users", json=new_user("ada"), headers={"X-Correlation-ID": "req-abc"})
    events = await identity.store.read_stream("user-1")
    assert [e.type for e in events] == ["UserRegistered", "PasswordSet"]
    assert {e.correlation_id for e in events} == {"req-abc"}
    assert events[0].producer == "identity"


@pytest.mark.parametrize("missing", ["username", "email", "password"])
async def test_a_registration_without_a_required_field_says_which_fields_are_needed(identity, new_user, missing):
    body = {k: v for k, v in new_user("susan").items() if k != missing}
    for sent in (body, {**body, missing: None}):
        response = await identity.post("/users", json=sent)
        assert (response.status_code, response.json()) == (
            400,
            {"error": "Bad Request", "message": "must include username, email and password fields"},
        )


async def test_a_registration_without_a_body_says_which_fields_are_needed(identity):
    response = await identity.post("/users")
    assert response.json()["message"] == "must include username, email and password fields"


async def test_taken_usernames_and_emails_ask_for_another_ignoring_case(identity, new_user):
    assert (await identity.post("/users", json=new_user("Susan"))).status_code == 201
    name = await identity.post("/users", json={**new_user("SUSAN"), "email": "other@example.com"})
    email = await identity.post("/users", json={**new_user("other"), "email": "SUSAN@example.COM"})
    assert (name.status_code, name.json()["message"]) == (400, "please use a different username")
    assert (email.status_code, email.json()["message"]) == (400, "please use a different email address")


async def test_racing_registrations_of_one_name_leave_exactly_one_account(identity, new_user):
    responses = await asyncio.gather(
        *(identity.post("/users", json={**new_user("racer"), "email": f"r{i}@example.com"}) for i in range(6))
    )
    assert sorted(r.status_code for r in responses) == [201] + [400] * 5
    assert {r.json()["message"] for r in responses if r.status_code == 400} == {"please use a different username"}
    async with identity.app.state.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM users")) == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"username": "bad name"}, "username must be 1 to 64"),
        ({"username": "."}, "username must be 1 to 64"),
        ({"username": ".."}, "username must be 1 to 64"),
        ({"username": "a/b"}, "username must be 1 to 64"),
        ({"email": "nope"}, "email is not a valid address"),
        ({"password": "short"}, "password must have at least 8"),
        ({"about_me": "x" * 141}, "about_me must have at most 140"),
        ({"username": 42}, "username"),
    ],
)
async def test_invalid_registrations_are_400s_that_name_the_field_and_change_nothing(
    identity, new_user, change, message
):
    response = await identity.post("/users", json={**new_user("susan"), **change})
    assert response.status_code == 400 and message in response.json()["message"]
    assert await identity.store.read_all() == []


async def test_a_user_profile_shows_every_field_and_unknown_users_are_404(identity, signed_up):
    user_id = await signed_up("susan")
    profile = (await identity.get(f"/users/{user_id}")).json()
    assert profile["username"] == "susan" and profile["email"] == "susan@example.com"
    assert set(profile) == {"id", "username", "email", "about_me", "last_seen", "registered_at"}
    for missing in ("2", "0", "-1", str(2**70)):
        response = await identity.get(f"/users/{missing}")
        assert (response.status_code, response.json()) == (404, {"error": "Not Found", "message": "no such user"})
    assert (await identity.get("/users/abc")).status_code == 400
