"""Fakes for the inner test ring, shared by every service's unit tests."""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

from microblog_shared.events import Envelope, Event
from microblog_shared.write.eventstore import ConcurrencyError, EventStore


class InMemoryEventStore(EventStore):
    """The event store's read/append contract in memory, for handler tests.

    `before_next_appends` holds callables run (one per append, first in first out) just before
    an append checks its expected version: a stand-in for a concurrent writer.
    """

    def __init__(self, producer: str = "test") -> None:
        super().__init__(engine=None, producer=producer)
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
