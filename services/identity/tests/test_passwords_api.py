import jwt


def sid_of(identity, pair: dict) -> str:
    return jwt.decode(pair["token"], identity.app.state.settings.jwt_secret, algorithms=["HS256"])["sid"]


async def active(identity, pair: dict) -> bool:
    return (await identity.get(f"/sessions/{sid_of(identity, pair)}")).json()["active"]


async def test_a_password_change_ends_every_other_session_and_the_old_password(identity, signed_up, logged_in):
    susan = await signed_up("susan")
    here, elsewhere = await logged_in("susan"), await logged_in("susan")
    response = await identity.post(
        f"/users/{susan}/password",
        json={"current_password": "a long password", "new_password": "a newer password"},
        headers={"X-User-Id": str(susan), "X-Session-Id": sid_of(identity, here)},
    )
    assert response.status_code == 204
    assert (await active(identity, here), await active(identity, elsewhere)) == (True, False)
    revoked = (await identity.store.read_stream(f"session-{sid_of(identity, elsewhere)}"))[-1]
    assert (revoked.type, revoked.payload["reason"]) == ("SessionRevoked", "password changed")
    assert (await identity.post("/tokens", auth=("susan", "a long password"))).status_code == 401
    assert (await identity.post("/tokens", auth=("susan", "a newer password"))).status_code == 200
    types = [e.type for e in await identity.store.read_stream(f"user-{susan}")]
    assert types == ["UserRegistered", "PasswordSet", "PasswordSet"]


async def test_a_wrong_current_password_is_a_400_that_changes_nothing(identity, signed_up, logged_in):
    susan = await signed_up("susan")
    pair = await logged_in("susan")
    response = await identity.post(
        f"/users/{susan}/password",
        json={"current_password": "guess", "new_password": "a newer password"},
        headers={"X-User-Id": str(susan)},
    )
    assert (response.status_code, response.json()["message"]) == (400, "current password is wrong")
    assert await active(identity, pair)
    assert len(await identity.store.read_stream(f"user-{susan}")) == 2


async def test_a_new_password_follows_the_registration_rules(identity, signed_up):
    susan = await signed_up("susan")
    response = await identity.post(
        f"/users/{susan}/password",
        json={"current_password": "a long password", "new_password": "short"},
        headers={"X-User-Id": str(susan)},
    )
    assert (response.status_code, response.json()["message"]) == (400, "password must have at least 8 characters")


async def test_without_a_session_header_every_session_ends(identity, signed_up, logged_in):
    susan = await signed_up("susan")
    pair = await logged_in("susan")
    await identity.post(
        f"/users/{susan}/password",
        json={"current_password": "a long password", "new_password": "a newer password"},
        headers={"X-User-Id": str(susan)},
    )
    assert not await active(identity, pair)


async def test_only_the_user_may_change_their_password(identity, signed_up):
    susan, bob = await signed_up("susan"), await signed_up("bob")
    body = {"current_password": "a long password", "new_password": "a newer password"}
    forbidden = await identity.post(f"/users/{susan}/password", json=body, headers={"X-User-Id": str(bob)})
    assert (forbidden.status_code, forbidden.json()["error"]) == (403, "Forbidden")
    assert (await identity.post(f"/users/{susan}/password", json=body)).status_code == 401
    missing = await identity.post(
        f"/users/{susan}/password", json={"current_password": "x"}, headers={"X-User-Id": str(susan)}
    )
    assert missing.status_code == 400 and "new_password" in missing.json()["message"]
