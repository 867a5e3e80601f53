import asyncio

import jwt
import pytest

from identity.app import create_app
from microblog_shared.eventstore import EventStore
from microblog_shared.settings import Settings


@pytest.fixture
async def identity(migrated_database, service_client):
    settings = Settings(environment="test", service_name="identity", database_url=migrated_database("identity"),
                        jwt_secret="s" * 40)
    app = create_app(settings)
    client = await service_client(app)
    client.app = app
    return client


def new_user(name: str, **extra) -> dict:
    return {"username": name, "email": f"{name}@example.com", "password": "a long password", **extra}


async def test_register_answers_201_with_location_and_a_consistency_token(identity):
    response = await identity.post("/users", json=new_user("susan", about_me="hi"))
    assert response.status_code == 201
    assert response.headers["Location"] == "/api/users/1"
    assert response.headers["X-Consistency-Token"] == "identity.users:user-1:1"
    assert response.json() == {"id": 1, "username": "susan", "about_me": "hi", "email": "susan@example.com"}


async def test_the_request_correlation_id_is_carried_by_the_events(identity):
    await identity.post("/users", json=new_user("ada"), headers={"X-Correlation-ID": "req-abc"})
    events = await EventStore(identity.app.state.engine, "identity").read_stream("user-1")
    assert [e.type for e in events] == ["UserRegistered", "PasswordSet"]
    assert {e.correlation_id for e in events} == {"req-abc"}
    assert events[0].producer == "identity"


async def test_usernames_and_emails_are_unique_ignoring_case(identity):
    assert (await identity.post("/users", json=new_user("Susan"))).status_code == 201
    name = await identity.post("/users", json={**new_user("SUSAN"), "email": "other@example.com"})
    email = await identity.post("/users", json={**new_user("other"), "email": "SUSAN@example.COM"})
    assert (name.status_code, name.json()["message"]) == (400, "username is already taken")
    assert (email.status_code, email.json()["message"]) == (400, "email is already taken")


async def test_racing_registrations_of_one_name_leave_exactly_one_account(identity):
    responses = await asyncio.gather(*(
        identity.post("/users", json={**new_user("racer"), "email": f"r{i}@example.com"}) for i in range(6)
    ))
    assert sorted(r.status_code for r in responses) == [201] + [400] * 5
    async with identity.app.state.engine.connect() as conn:
        from sqlalchemy import text
        assert await conn.scalar(text("SELECT count(*) FROM users")) == 1


async def test_a_token_is_a_one_hour_jwt_for_valid_credentials(identity):
    await identity.post("/users", json=new_user("susan"))
    response = await identity.post("/tokens", auth=("SuSaN", "a long password"))
    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], "s" * 40, algorithms=["HS256"])
    assert claims["sub"] == "1"
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize("auth", [("susan", "wrong"), ("nobody", "a long password"), None])
async def test_bad_or_missing_credentials_are_401_with_a_challenge(identity, auth):
    await identity.post("/users", json=new_user("susan"))
    response = await identity.post("/tokens", auth=auth)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="microblog"'


async def test_invalid_input_is_a_400_that_changes_nothing(identity):
    bad = await identity.post("/users", json=new_user("bad name"))
    assert bad.status_code == 400 and "username" in bad.json()["message"]
    missing = await identity.post("/users", json={"username": "x"})
    assert missing.status_code == 400 and "email" in missing.json()["message"]
    assert await EventStore(identity.app.state.engine, "identity").read_all() == []
