import hashlib
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import text

from microblog_shared.http.auth import REVOKED_SESSIONS_HEADER, parse_revoked_sessions


def claims_of(identity, token: str) -> dict:
    return jwt.decode(token, identity.app.state.settings.jwt_secret, algorithms=["HS256"])


def as_session(user_id: int, token: str, identity) -> dict:
    return {"X-User-Id": str(user_id), "X-Session-Id": claims_of(identity, token)["sid"]}


async def session_of(identity, pair: dict) -> dict:
    response = await identity.get(f"/sessions/{claims_of(identity, pair['token'])['sid']}")
    assert response.status_code == 200
    return response.json()


async def test_a_login_is_a_one_hour_access_token_naming_a_new_session_and_a_refresh_token(identity, signed_up):
    user_id = await signed_up("susan")
    response = await identity.post("/tokens", auth=("SuSaN", "a long password"))
    assert response.status_code == 200 and set(response.json()) == {"token", "refresh_token"}
    claims = claims_of(identity, response.json()["token"])
    assert (claims["sub"], claims["exp"] - claims["iat"]) == (str(user_id), 3600)
    assert await session_of(identity, response.json()) == {
        "session_id": claims["sid"],
        "user_id": user_id,
        "active": True,
    }
    [started] = await identity.store.read_stream(f"session-{claims['sid']}")
    assert started.type == "SessionStarted"


async def test_only_a_hash_of_the_refresh_token_is_stored(identity, signed_up, logged_in):
    await signed_up("susan")
    refresh = (await logged_in("susan"))["refresh_token"]
    async with identity.app.state.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT hash FROM refresh_tokens"))).scalars().all()
        events = await conn.scalar(text("SELECT string_agg(payload::text, ' ') FROM events"))
    assert stored == [hashlib.sha256(refresh.encode()).hexdigest()]
    assert refresh not in events


async def test_passwords_beyond_ascii_log_in(identity, new_user):
    await identity.post("/users", json={**new_user("jose"), "password": "contraseña 密码"})
    assert (await identity.post("/tokens", auth=("jose", "contraseña 密码"))).status_code == 200


@pytest.mark.parametrize("auth", [("susan", "wrong"), ("nobody", "a long password"), ("nul\x00", "x"), None])
async def test_bad_or_missing_credentials_are_401_with_a_challenge(identity, signed_up, auth):
    await signed_up("susan")
    response = await identity.post("/tokens", auth=auth)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="microblog"'


async def test_a_refresh_token_buys_a_new_pair_in_the_same_session(identity, signed_up, logged_in):
    await signed_up("susan")
    first = await logged_in("susan")
    response = await identity.put("/tokens", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert claims_of(identity, second["token"])["sid"] == claims_of(identity, first["token"])["sid"]
    rotated = (await identity.store.read_stream(f"session-{claims_of(identity, first['token'])['sid']}"))[-1]
    assert (rotated.type, rotated.payload["generation"]) == ("RefreshTokenRotated", 2)
    third = await identity.put("/tokens", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_every_session_of_the_user(identity, signed_up, logged_in):
    susan, bob = await signed_up("susan"), await signed_up("bob")
    stolen, other, bobs = await logged_in("susan"), await logged_in("susan"), await logged_in("bob")
    rotated = (await identity.put("/tokens", json={"refresh_token": stolen["refresh_token"]})).json()
    reuse = await identity.put("/tokens", json={"refresh_token": stolen["refresh_token"]})
    assert (reuse.status_code, reuse.json()["error"]) == (401, "Unauthorized")
    assert "already used" in reuse.json()["message"]
    ended, until = parse_revoked_sessions(reuse.headers[REVOKED_SESSIONS_HEADER])  # for the gateway that asked
    assert set(ended) == {claims_of(identity, pair["token"])["sid"] for pair in (stolen, other)}
    assert until == identity.clock.now + timedelta(hours=1)  # when their access tokens die anyway
    assert [(await session_of(identity, pair))["active"] for pair in (stolen, other, bobs)] == [False, False, True]
    revoked = await identity.store.read_stream(f"session-{claims_of(identity, other['token'])['sid']}")
    assert (revoked[-1].type, revoked[-1].payload["reason"]) == ("SessionRevoked", "refresh token reuse")
    assert (await identity.put("/tokens", json={"refresh_token": rotated["refresh_token"]})).status_code == 401
    assert {(await session_of(identity, pair))["user_id"] for pair in (stolen, bobs)} == {susan, bob}


@pytest.mark.parametrize(
    "body, status",
    [
        ({"refresh_token": "never-issued"}, 401),
        ({}, 400),
        ({"refresh_token": ""}, 400),
        ({"refresh_token": 7}, 400),
        ("not an object", 400),
    ],
)
async def test_unknown_or_malformed_refresh_tokens_are_refused(identity, body, status):
    response = await identity.put("/tokens", json=body)
    assert response.status_code == status and "message" in response.json()


async def test_an_expired_refresh_token_is_401(identity, signed_up, logged_in):
    await signed_up("susan")
    pair = await logged_in("susan")
    identity.clock.advance(days=7)
    response = await identity.put("/tokens", json={"refresh_token": pair["refresh_token"]})
    assert (response.status_code, response.json()["message"]) == (401, "refresh token has expired")
    assert (await session_of(identity, pair))["active"] is False


async def test_logging_out_revokes_the_session_at_once_and_is_idempotent(identity, signed_up, logged_in):
    susan = await signed_up("susan")
    pair, other = await logged_in("susan"), await logged_in("susan")
    for _ in range(2):
        response = await identity.delete("/tokens", headers=as_session(susan, pair["token"], identity))
        assert response.status_code == 204
    stream = await identity.store.read_stream(f"session-{claims_of(identity, pair['token'])['sid']}")
    assert [e.type for e in stream] == ["SessionStarted", "SessionRevoked"]
    assert stream[-1].payload["reason"] == "logout"
    assert [(await session_of(identity, p))["active"] for p in (pair, other)] == [False, True]
    refused = await identity.put("/tokens", json={"refresh_token": pair["refresh_token"]})
    assert (refused.status_code, refused.json()["message"]) == (401, "the session of this refresh token is revoked")


async def test_logging_out_needs_the_gateway_headers_and_ones_own_session(identity, signed_up, logged_in):
    susan, bob = await signed_up("susan"), await signed_up("bob")
    pair = await logged_in("susan")
    assert (await identity.delete("/tokens")).status_code == 401
    assert (await identity.delete("/tokens", headers={"X-User-Id": str(susan)})).status_code == 401
    stranger = await identity.delete("/tokens", headers=as_session(bob, pair["token"], identity))
    assert stranger.status_code == 403
    unknown = await identity.delete("/tokens", headers={"X-User-Id": str(susan), "X-Session-Id": "not-a-session"})
    assert unknown.status_code == 204
    assert (await session_of(identity, pair))["active"] is True


async def test_revoked_sessions_are_listed_until_their_access_tokens_expire(identity, signed_up, logged_in):
    susan = await signed_up("susan")
    pair, _still_live = await logged_in("susan"), await logged_in("susan")
    assert (await identity.get("/sessions/revoked")).json() == []
    await identity.delete("/tokens", headers=as_session(susan, pair["token"], identity))
    expires = (identity.clock.now + timedelta(minutes=identity.app.state.settings.access_token_minutes)).isoformat()
    assert (await identity.get("/sessions/revoked")).json() == [
        {"session_id": claims_of(identity, pair["token"])["sid"], "tokens_expire_at": expires.replace("+00:00", "Z")}
    ]
    identity.clock.advance(minutes=60)
    assert (await identity.get("/sessions/revoked")).json() == []


async def test_unknown_sessions_are_404(identity):
    for sid in ("0" * 32, "nope", "x" * 64):
        response = await identity.get(f"/sessions/{sid}")
        assert (response.status_code, response.json()["error"]) == (404, "Not Found")
    assert (await identity.get(f"/sessions/{'x' * 65}")).status_code == 400
