"""Posts' test kit: one language detector for the session, the API app, an in-memory store."""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import pytest

from microblog_shared.events import Envelope, Event
from microblog_shared.eventstore import ConcurrencyError, EventStore
from microblog_shared.settings import Settings
from posts.adapters.language import LanguageDetector
from posts.app import create_app


@pytest.fixture(scope="session")
def detector() -> LanguageDetector:
    """The real detector, its model loaded once for the whole session."""
    return LanguageDetector()


@pytest.fixture
async def posts(migrated_database, service_client, detector):
    """A client of the posts API on a freshly migrated database; `.app` is the app."""
    app = create_app(Settings(environment="test", service_name="posts", database_url=migrated_database("posts")))
    app.state.detect_language = detector
    client = await service_client(app)
    client.app = app
    return client


class InMemoryEventStore(EventStore):
    """The event store's read/append contract in memory, for handler tests.

    `before_next_appends` holds callables run (one per append, first in first out) just before
    an append checks its expected version: a stand-in for a concurrent writer.
    """

    def __init__(self) -> None:
        super().__init__(engine=None, producer="posts")
        self.streams: dict[str, list[Envelope]] = {}
        self.before_next_appends: list[Callable[[InMemoryEventStore], None]] = []
        self._ids = itertools.count(1)

    async def append(self, stream_id: str, expected_version: int, events: Sequence[Event], **_) -> list[Envelope]:
        if self.before_next_appends:
            self.before_next_appends.pop(0)(self)
        return self.append_now(stream_id, expected_version, events)

    def append_now(self, stream_id: str, expected_version: int, events: Sequence[Event]) -> list[Envelope]:
        stream = self.streams.setdefault(stream_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(stream_id, expected_version, len(stream))
        appended = [self._envelope(stream_id, number, event) for number, event in enumerate(events, len(stream) + 1)]
        stream.extend(appended)
        return appended

    async def read_stream(self, stream_id: str) -> list[Envelope]:
        return list(self.streams.get(stream_id, []))

    async def next_id(self, sequence: str) -> int:
        return next(self._ids)


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()
