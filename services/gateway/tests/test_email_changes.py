"""An email change through the gateway: the password is needed, the answer is pending, the link applies it.

Identity is a real process (the test kit's `identity`); the timeline is down, so answers come from the write.
"""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.app import create_app

IDENTITY_SECRET = "s" * 40  # the test kit's identity process signs with this
PASSWORD = "a long password"


@pytest.fixture
async def gateway(gateway_settings, service_client, identity):
    settings = gateway_settings(jwt_secret=IDENTITY_SECRET, identity_url=identity)
    return await service_client(create_app(settings))


@pytest.fixture
async def mailed_token(identity_process):
    """`await mailed_token(user_id)`: the token of the user's newest EmailChangeRequested, from identity's log."""
    engine = create_async_engine(identity_process.database_url)

    async def newest(user_id: int) -> str:
        async with engine.connect() as conn:
            return await conn.scalar(
                text("""SELECT payload->>'token' FROM events WHERE stream_id = :s AND type = 'EmailChangeRequested'
                        ORDER BY stream_version DESC LIMIT 1"""),
                {"s": f"user-{user_id}"},
            )

    yield newest
    await engine.dispose()


async def signed_in(gateway, register, name: str) -> tuple[int, dict]:
    user_id = await register(name)
    token = (await gateway.post("/api/tokens", auth=(name, PASSWORD))).json()["token"]
    return user_id, {"Authorization": f"Bearer {token}"}


async def test_an_email_change_needs_the_password_is_pending_and_the_link_applies_it(
    gateway, register, identity, mailed_token
):
    susan, auth = await signed_in(gateway, register, "susan")
    missing = await gateway.put(f"/api/users/{susan}", json={"email": "new@example.com"}, headers=auth)
    assert (missing.status_code, missing.json()["message"]) == (
        400,
        "current_password is required to change the email address",
    )
    wrong = await gateway.put(
        f"/api/users/{susan}", json={"email": "new@example.com", "current_password": "guess"}, headers=auth
    )
    assert (wrong.status_code, wrong.json()["message"]) == (400, "current password is wrong")
    asked = await gateway.put(
        f"/api/users/{susan}", json={"email": "new@example.com", "current_password": PASSWORD}, headers=auth
    )
    assert asked.status_code == 202, asked.text
    assert (asked.json()["email"], asked.json()["pending_email"]) == ("susan@example.com", "new@example.com")
    async with httpx.AsyncClient(base_url=identity) as direct:
        assert (await direct.get(f"/users/{susan}")).json()["email"] == "susan@example.com"
        token = await mailed_token(susan)
        done = await gateway.post("/api/email_confirmation", json={"token": token})
        assert done.status_code == 204, done.text
        assert (await direct.get(f"/users/{susan}")).json()["email"] == "new@example.com"
    again = await gateway.post("/api/email_confirmation", json={"token": token})
    assert (again.status_code, again.json()["message"]) == (
        400,
        "the email confirmation link is invalid, used or expired",
    )


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": "x" * 1025}, {"token": "a\x00b"}, {"token": 5}])
async def test_a_malformed_confirmation_is_400_before_identity_is_asked(gateway_settings, service_client, body):
    gateway = await service_client(create_app(gateway_settings(jwt_secret=IDENTITY_SECRET)))  # identity is down
    answer = await gateway.post("/api/email_confirmation", json=body)
    assert (answer.status_code, answer.json()["error"]) == (400, "Bad Request")


async def test_the_openapi_document_tells_of_the_pending_change(gateway):
    schema = (await gateway.get("/api/openapi.json")).json()
    put = schema["paths"]["/api/users/{user_id}"]["put"]
    assert "202" in put["responses"]
    assert "current_password" in schema["components"]["schemas"]["UserUpdate"]["properties"]
    assert "/api/email_confirmation" in schema["paths"]
