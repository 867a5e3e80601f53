"""Password resets: a signed, single-use, 10-minute link; nobody learns which addresses are known."""

import time

import jwt

from identity import domain


async def reset_tokens(identity, user_id: int) -> list[str]:
    stream = await identity.store.read_stream(f"user-{user_id}")
    return [e.payload["token"] for e in stream if e.type == "PasswordResetRequested"]


async def test_a_known_address_gets_a_reset_token_an_unknown_one_the_same_answer(identity, signed_up):
    susan = await signed_up("susan")
    known = await identity.post("/password-resets", json={"email": "SUSAN@example.com"})
    unknown = await identity.post("/password-resets", json={"email": "nobody@example.com"})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.content == unknown.content
    (requested,) = [e for e in await identity.store.read_stream(f"user-{susan}") if e.type == "PasswordResetRequested"]
    assert requested.payload["email"] == "susan@example.com" and requested.payload["username"] == "susan"
    claims = jwt.decode(requested.payload["token"], identity.app.state.settings.jwt_secret, algorithms=["HS256"])
    assert claims["sub"] == str(susan) and claims["exp"] - claims["iat"] == 600


async def test_a_reset_sets_the_password_ends_every_session_and_works_only_once(identity, signed_up, logged_in):
    susan = await signed_up("susan")
    await logged_in("susan")
    await identity.post("/password-resets", json={"email": "susan@example.com"})
    (token,) = await reset_tokens(identity, susan)
    done = await identity.post("/password-resets/confirm", json={"token": token, "password": "a brand new one"})
    assert done.status_code == 204
    assert (await identity.post("/tokens", auth=("susan", "a long password"))).status_code == 401
    assert (await identity.post("/tokens", auth=("susan", "a brand new one"))).status_code == 200
    sessions = [e for e in await identity.store.read_all() if e.type == "SessionRevoked"]
    assert [e.payload["reason"] for e in sessions] == ["password reset"]
    again = await identity.post("/password-resets/confirm", json={"token": token, "password": "yet another one"})
    assert (again.status_code, again.json()["message"]) == (400, "the reset link is invalid, used or expired")
    assert (await identity.post("/tokens", auth=("susan", "a brand new one"))).status_code == 200


async def test_expired_forged_and_foreign_tokens_are_refused(identity, signed_up):
    susan = await signed_up("susan")
    secret = identity.app.state.settings.jwt_secret
    await identity.post("/password-resets", json={"email": "susan@example.com"})
    (token,) = await reset_tokens(identity, susan)
    claims = jwt.decode(token, secret, algorithms=["HS256"])
    expired = jwt.encode({**claims, "exp": int(time.time()) - 1}, secret, algorithm="HS256")
    forged = jwt.encode(claims, "another secret entirely, 32 bytes+", algorithm="HS256")
    access = jwt.encode({**claims, "purpose": "access"}, secret, algorithm="HS256")
    someone_else = jwt.encode({**claims, "sub": str(susan + 1000)}, secret, algorithm="HS256")
    for bad in (expired, forged, access, someone_else, "not a token", token + "x"):
        answer = await identity.post("/password-resets/confirm", json={"token": bad, "password": "a brand new one"})
        assert answer.status_code == 400, bad
    assert (await identity.post("/tokens", auth=("susan", "a long password"))).status_code == 200


async def test_a_weak_new_password_is_refused_and_the_token_still_works(identity, signed_up):
    susan = await signed_up("susan")
    await identity.post("/password-resets", json={"email": "susan@example.com"})
    (token,) = await reset_tokens(identity, susan)
    weak = await identity.post("/password-resets/confirm", json={"token": token, "password": "short"})
    assert (weak.status_code, weak.json()["message"]) == (
        400,
        f"password must have at least {domain.MIN_PASSWORD} characters",
    )
    ok = await identity.post("/password-resets/confirm", json={"token": token, "password": "long enough now"})
    assert ok.status_code == 204


async def test_reset_mails_are_rate_limited_per_account(identity, signed_up):
    susan = await signed_up("susan")
    for _ in range(3):
        assert (await identity.post("/password-resets", json={"email": "susan@example.com"})).status_code == 202
    assert len(await reset_tokens(identity, susan)) == 1
    identity.clock.advance(seconds=61)
    await identity.post("/password-resets", json={"email": "susan@example.com"})
    assert len(await reset_tokens(identity, susan)) == 2


async def test_bad_reset_requests_are_400(identity):
    for body in ({}, {"email": ""}, {"email": 5}, {"email": "a@b.co", "extra": 1}):
        assert (await identity.post("/password-resets", json=body)).status_code == 400
    for body in ({}, {"token": ""}, {"token": "x"}, {"password": "p" * 10}):
        assert (await identity.post("/password-resets/confirm", json=body)).status_code == 400
