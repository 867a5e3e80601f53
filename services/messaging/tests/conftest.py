"""Messaging on a migrated database, asking the real identity app (in-process) about users."""

import httpx
import pytest

from identity.app import create_app as create_identity_app
from messaging.app import create_app
from messaging.settings import MessagingSettings
from microblog_shared.http.identity_client import IdentityUsers
from microblog_shared.runtime.settings import Settings


@pytest.fixture
async def identity(migrated_database, service_client):
    app = create_identity_app(
        Settings(
            environment="test", service_name="identity", database_url=migrated_database("identity"), jwt_secret="s" * 40
        )
    )
    client = await service_client(app)
    client.app = app
    return client


@pytest.fixture
def register(identity):
    """`await register("susan")`: a real account in identity; returns its id."""

    async def make(name: str) -> int:
        response = await identity.post(
            "/users", json={"username": name, "email": f"{name}@example.com", "password": "a long password"}
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return make


@pytest.fixture
async def messaging(migrated_database, service_client, identity):
    transport = httpx.ASGITransport(app=identity.app)
    users = IdentityUsers(httpx.AsyncClient(transport=transport, base_url="http://identity"))
    app = create_app(MessagingSettings(environment="test", database_url=migrated_database("messaging")), users=users)
    client = await service_client(app)
    client.app = app
    yield client
    await users.close()


@pytest.fixture
async def susan_john_and_mary(register):
    return await register("susan"), await register("john"), await register("mary")
