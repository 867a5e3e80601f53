"""Fixtures of identity's API tests: the app on a freshly migrated database, with a clock tests move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.app import create_app
from microblog_shared.runtime.settings import Settings
from microblog_shared.write.eventstore import EventStore

SECRET = "s" * 40
PASSWORD = "a long password"


class ManualClock:
    """A clock that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def identity(migrated_database, service_client):
    """An httpx client of the identity app; `.app`, `.clock` and `.store` are at hand."""
    settings = Settings(
        environment="test", service_name="identity", database_url=migrated_database("identity"), jwt_secret=SECRET
    )
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    client = await service_client(app)
    client.app, client.clock, client.store = app, clock, EventStore(app.state.engine, "identity")
    return client


@pytest.fixture
def new_user():
    """A valid registration body for `name`."""

    def make(name: str, **extra) -> dict:
        return {"username": name, "email": f"{name}@example.com", "password": PASSWORD, **extra}

    return make


@pytest.fixture
def signed_up(identity, new_user):
    """Register `name` and return its id."""

    async def sign_up(name: str) -> int:
        response = await identity.post("/users", json=new_user(name))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return sign_up


@pytest.fixture
def logged_in(identity):
    """Log `name` in (HTTP Basic) and return the token pair."""

    async def log_in(name: str, password: str = PASSWORD) -> dict:
        response = await identity.post("/tokens", auth=(name, password))
        assert response.status_code == 200, response.text
        return response.json()

    return log_in
