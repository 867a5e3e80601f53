"""Social graph on a migrated database, asking a real identity process (the test kit's) about users."""

import httpx
import pytest

from microblog_shared.http.identity_client import IdentityUsers
from social_graph.app import create_app
from social_graph.settings import SocialGraphSettings


@pytest.fixture
async def social_graph_replicas(migrated_database, service_client, identity):
    """Factory of social graph apps sharing one database, like replicas of the service."""
    database_url = migrated_database("social_graph")
    directories = []

    async def make() -> httpx.AsyncClient:
        users = IdentityUsers.at(identity, timeout_seconds=5)
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
