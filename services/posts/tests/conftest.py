"""Posts' test kit: one language detector for the session, the API app, an in-memory store."""

from __future__ import annotations

import pytest

from microblog_testkit.fakes import InMemoryEventStore
from posts.adapters.language import LanguageDetector
from posts.app import create_app
from posts.exporter import Exporter
from posts.settings import PostsSettings


@pytest.fixture(scope="session")
def detector() -> LanguageDetector:
    """The real detector, its model loaded once for the whole session."""
    return LanguageDetector()


@pytest.fixture
async def posts(migrated_database, service_client, detector):
    """A client of the posts API on a freshly migrated database; `.app` is the app."""
    app = create_app(
        PostsSettings(environment="test", database_url=migrated_database("posts")), detect_language=detector
    )
    client = await service_client(app)
    client.app = app
    return client


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
def exporter(posts):
    """Factory: an exporter over the posts app's database (chunk size and poll pace to taste)."""

    def make(chunk_size: int = 500, poll_seconds: float = 60.0) -> Exporter:
        return Exporter(posts.app.state.store, chunk_size, poll_seconds)

    return make
