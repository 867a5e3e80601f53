"""Social graph on a migrated database, asking the real identity app (in-process) about users."""

import httpx
import pytest

from identity.app import create_app as create_identity_app
from microblog_shared.http.identity_client import IdentityUsers
from microblog_shared.runtime.settings import Settings
from social_graph.app import create_app
from social_graph.settings import SocialGraphSettings


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
async def social_graph_replicas(migrated_database, service_client, identity):
    """Factory of social graph apps sharing one database, like replicas of the service."""
    database_url = migrated_database("social_graph")
    directories = []

    async def make() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=identity.app)
        users = IdentityUsers(httpx.AsyncClient(transport=transport, base_url="http://identity"))
        directories.append(users)
        app = create_app(SocialGraphSettings(environment="test", database_url=database_url), users=users)
        client = await service_client(app)
        client.app = app
        return client

    yield make
    for users in directories:
        await users.close()


@pytest.fixture
async def social_graph(social_graph_replicas):
    return await social_graph_replicas()
