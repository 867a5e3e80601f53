"""A reused refresh token: the gateway that answers the 401 refuses the user's access tokens before it answers.

Identity is a real process (the test kit's `identity`); the gateway runs in-process with no bus, so
nothing but identity's answer can tell it which sessions ended.
"""

import pytest

from gateway.app import create_app

IDENTITY_SECRET = "s" * 40  # the test kit's identity process signs with this


@pytest.fixture
async def gateway(gateway_settings, service_client, identity):
    settings = gateway_settings(jwt_secret=IDENTITY_SECRET, identity_url=identity)
    return await service_client(create_app(settings))


async def test_the_reuse_401_comes_after_the_users_access_tokens_are_refused_here(gateway, register):
    await register("susan")
    stolen = (await gateway.post("/api/tokens", auth=("susan", "a long password"))).json()
    other = (await gateway.post("/api/tokens", auth=("susan", "a long password"))).json()
    rotated = await gateway.put("/api/tokens", json={"refresh_token": stolen["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    reuse = await gateway.put("/api/tokens", json={"refresh_token": stolen["refresh_token"]})
    assert (reuse.status_code, reuse.json()["error"]) == (401, "Unauthorized")
    assert "already used" in reuse.json()["message"]
    assert not [name for name in reuse.headers if name.lower().startswith("x-revoked")]  # identity's word to us
    for token in (stolen["token"], rotated.json()["token"], other["token"]):
        answer = await gateway.get("/api/timeline", headers={"Authorization": f"Bearer {token}"})
        assert (answer.status_code, answer.json()["message"]) == (401, "the token has been revoked")
