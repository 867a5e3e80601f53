"""Email changes: the current password, a pending address, and a signed single-use link that applies it."""

import jwt
import pytest

PASSWORD = "a long password"


def as_user(user_id: int) -> dict:
    return {"X-User-Id": str(user_id)}


async def ask_for(identity, user_id: int, email: str, password: str | None = PASSWORD, **more):
    body = {"email": email, **more} | ({"current_password": password} if password is not None else {})
    return await identity.put(f"/users/{user_id}", json=body, headers=as_user(user_id))


async def requests_of(identity, user_id: int) -> list[dict]:
    stream = await identity.store.read_stream(f"user-{user_id}")
    return [e.payload for e in stream if e.type == "EmailChangeRequested"]


async def latest_token(identity, user_id: int) -> str:
    return (await requests_of(identity, user_id))[-1]["token"]


async def confirm(identity, token: str):
    return await identity.post("/email-changes/confirm", json={"token": token})


async def test_changing_the_email_without_the_current_password_is_refused(identity, signed_up):
    susan = await signed_up("susan")
    answer = await ask_for(identity, susan, "new@example.com", password=None)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "Bad Request",
        "message": "current_password is required to change the email address",
    }
    assert await requests_of(identity, susan) == []


async def test_a_wrong_current_password_is_refused_as_the_password_change_refuses_it(identity, signed_up):
    susan = await signed_up("susan")
    answer = await ask_for(identity, susan, "new@example.com", password="not my password")
    change = await identity.post(
        f"/users/{susan}/password",
        json={"current_password": "not my password", "new_password": "whatever long"},
        headers=as_user(susan),
    )
    assert (answer.status_code, answer.json()) == (change.status_code, change.json())
    assert answer.json()["message"] == "current password is wrong"
    assert await requests_of(identity, susan) == []


async def test_a_requested_change_is_pending_and_the_profile_keeps_the_old_address(identity, signed_up):
    susan = await signed_up("susan")
    answer = await ask_for(identity, susan, " new@example.com ", about_me="moving")
    assert answer.status_code == 202
    body = answer.json()
    assert (body["email"], body["pending_email"], body["about_me"]) == (
        "susan@example.com",
        "new@example.com",
        "moving",
    )
    assert answer.headers["X-Consistency-Token"] == f"identity.users:user-{susan}:3"
    assert (await identity.get(f"/users/{susan}")).json()["email"] == "susan@example.com"
    (requested,) = await requests_of(identity, susan)
    assert {k: requested[k] for k in ("user_id", "username", "old_email", "new_email")} == {
        "user_id": susan,
        "username": "susan",
        "old_email": "susan@example.com",
        "new_email": "new@example.com",
    }
    claims = jwt.decode(requested["token"], identity.app.state.settings.jwt_secret, algorithms=["HS256"])
    assert (claims["sub"], claims["email"], claims["exp"] - claims["iat"]) == (str(susan), "new@example.com", 86400)
    # Until confirmed, the old address is the account's: resets go there, not to the new one.
    assert (await identity.post("/password-resets", json={"email": "new@example.com"})).status_code == 202
    resets = [e for e in await identity.store.read_stream(f"user-{susan}") if e.type == "PasswordResetRequested"]
    assert resets == []


async def test_the_same_address_again_needs_no_password_and_asks_nothing(identity, signed_up):
    susan = await signed_up("susan")
    answer = await ask_for(identity, susan, "susan@example.com", password=None)
    assert (answer.status_code, "pending_email" in answer.json()) == (200, False)


async def test_the_link_applies_the_change_once(identity, signed_up):
    susan = await signed_up("susan")
    await ask_for(identity, susan, "new@example.com")
    token = await latest_token(identity, susan)
    done = await confirm(identity, token)
    assert done.status_code == 204
    assert done.headers["X-Consistency-Token"] == f"identity.users:user-{susan}:5"
    assert (await identity.get(f"/users/{susan}")).json()["email"] == "new@example.com"
    updated = [e for e in await identity.store.read_stream(f"user-{susan}") if e.type == "UserProfileUpdated"]
    assert updated[-1].payload["email"] == "new@example.com"
    again = await confirm(identity, token)
    assert (again.status_code, again.json()["message"]) == (
        400,
        "the email confirmation link is invalid, used or expired",
    )
    # The old address is free for others now; the new one is taken.
    assert await identity.post("/users", json={"username": "bob", "email": "SUSAN@example.com", "password": PASSWORD})
    taken = await identity.post("/users", json={"username": "eve", "email": "NEW@example.com", "password": PASSWORD})
    assert taken.json()["message"] == "please use a different email address"


async def test_a_newer_request_voids_the_older_link(identity, signed_up):
    susan = await signed_up("susan")
    await ask_for(identity, susan, "first@example.com")
    first = await latest_token(identity, susan)
    await ask_for(identity, susan, "second@example.com")
    assert (await confirm(identity, first)).status_code == 400
    assert (await confirm(identity, await latest_token(identity, susan))).status_code == 204
    assert (await identity.get(f"/users/{susan}")).json()["email"] == "second@example.com"


async def test_an_expired_link_is_refused(identity, signed_up):
    susan = await signed_up("susan")
    await ask_for(identity, susan, "new@example.com")
    token = await latest_token(identity, susan)
    identity.clock.advance(hours=24, seconds=1)
    assert (await confirm(identity, token)).status_code == 400
    assert (await identity.get(f"/users/{susan}")).json()["email"] == "susan@example.com"


async def test_forged_foreign_and_malformed_links_are_refused(identity, signed_up):
    susan = await signed_up("susan")
    await ask_for(identity, susan, "new@example.com")
    token = await latest_token(identity, susan)
    secret = identity.app.state.settings.jwt_secret
    claims = jwt.decode(token, secret, algorithms=["HS256"])
    forged = jwt.encode(claims, "another secret entirely, 32 bytes+", algorithm="HS256")
    other_address = jwt.encode({**claims, "email": "thief@example.com"}, secret, algorithm="HS256")
    reset = jwt.encode({**claims, "purpose": "password-reset"}, secret, algorithm="HS256")
    someone_else = jwt.encode({**claims, "sub": str(susan + 1000)}, secret, algorithm="HS256")
    for bad in (forged, other_address, reset, someone_else, "not a token", token + "x"):
        answer = await confirm(identity, bad)
        assert (answer.status_code, answer.json()["error"]) == (400, "Bad Request"), bad
    assert (await identity.get(f"/users/{susan}")).json()["email"] == "susan@example.com"
    for body in ({}, {"token": ""}, {"token": "x", "more": 1}, {"token": "a\x00b"}):
        assert (await identity.post("/email-changes/confirm", json=body)).status_code == 400


async def test_an_address_taken_before_the_link_is_used_is_refused_then(identity, signed_up, new_user):
    susan = await signed_up("susan")
    await ask_for(identity, susan, "wanted@example.com")
    token = await latest_token(identity, susan)
    assert (await identity.post("/users", json={**new_user("bob"), "email": "Wanted@example.com"})).status_code == 201
    answer = await confirm(identity, token)
    assert (answer.status_code, answer.json()["message"]) == (400, "please use a different email address")
    assert (await identity.get(f"/users/{susan}")).json()["email"] == "susan@example.com"


async def test_an_address_already_taken_is_refused_when_asked(identity, signed_up):
    susan = await signed_up("susan")
    await signed_up("bob")
    answer = await ask_for(identity, susan, "BOB@example.com")
    assert (answer.status_code, answer.json()["message"]) == (400, "please use a different email address")
    assert await requests_of(identity, susan) == []


@pytest.mark.parametrize("email", ["nope", "a@b", "x" * 120 + "@example.com"])
async def test_a_malformed_new_address_is_refused_before_the_password_is_asked(identity, signed_up, email):
    susan = await signed_up("susan")
    answer = await ask_for(identity, susan, email, password=None)
    assert (answer.status_code, answer.json()["message"]) == (400, "email is not a valid address")
