"""Social graph on a migrated database, asking a real identity process (the test kit's) about users."""

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from microblog_shared.http.identity_client import IdentityUsers
from microblog_shared.runtime.db import create_engine
from microblog_shared.write.eventstore import EventStore
from social_graph.app import create_app
from social_graph.settings import SocialGraphSettings


@pytest.fixture
async def social_graph_replicas(migrated_database, service_client, identity):
    """Factory of social graph apps sharing one database, like replicas of the service."""
    database_url = migrated_database("social_graph")
    directories = []

    async def make(store: Callable[[AsyncEngine], EventStore] | None = None) -> httpx.AsyncClient:
        """A replica; `store` builds its event store over its engine (tests: one that holds appends)."""
        users = IdentityUsers.at(identity, timeout_seconds=5)
        directories.append(users)
        settings = SocialGraphSettings(environment="test", database_url=database_url)
        app = create_app(settings, users=users, store=store(create_engine(database_url)) if store else None)
        client = await service_client(app)
        client.app = app
        return client

    yield make
    for users in directories:
        await users.close()


@pytest.fixture
async def social_graph(social_graph_replicas):
    return await social_graph_replicas()
