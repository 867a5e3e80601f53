"""Messaging on a migrated database, asking a real identity process (the test kit's) about users."""

import pytest

from messaging.app import create_app
from messaging.settings import MessagingSettings
from microblog_shared.http.identity_client import IdentityUsers


@pytest.fixture
async def messaging(migrated_database, service_client, identity):
    users = IdentityUsers.at(identity, timeout_seconds=5)
    app = create_app(MessagingSettings(environment="test", database_url=migrated_database("messaging")), users=users)
    client = await service_client(app)
    client.app = app
    yield client
    await users.close()


@pytest.fixture
async def susan_john_and_mary(register):
    return await register("susan"), await register("john"), await register("mary")
