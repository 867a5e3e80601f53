"""Fakes for the inner test ring, shared by every service's unit tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from microblog_shared.events import Envelope, Event
from microblog_shared.write.handling import wrap
from microblog_shared.write.port import ConcurrencyError, Reservation, ReservationTaken, StateUpdate


class InMemoryEventStore:
    """The event store port (`microblog_shared.write.port.EventStore`) in memory, for handler tests.

    Reservations are claimed and released as PostgreSQL's store does; `update_state` (a write to
    a service's own tables) is not run. `before_next_appends` holds callables run (one per
    append, first in first out) just before an append checks its expected version: a stand-in
    for a concurrent writer.
    """

    def __init__(self, producer: str = "test") -> None:
        self.producer = producer
        self.streams: dict[str, list[Envelope]] = {}
        self.reservations: dict[tuple[str, str], str] = {}  # (kind, value) -> stream_id
        self.before_next_appends: list[Callable[[InMemoryEventStore], None]] = []
        self._ids = itertools.count(1)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        reserve: Sequence[Reservation] = (),
        release: Sequence[Reservation] = (),
        update_state: StateUpdate | None = None,
    ) -> list[Envelope]:
        if self.before_next_appends:
            self.before_next_appends.pop(0)(self)
        self._check_version(stream_id, expected_version)
        released = {(r.kind, r.value) for r in release if self.reservations.get((r.kind, r.value)) == stream_id}
        held = {claim: owner for claim, owner in self.reservations.items() if claim not in released}
        for reservation in reserve:
            if (reservation.kind, reservation.value) in held:
                raise ReservationTaken(reservation.kind, reservation.value)
            held[(reservation.kind, reservation.value)] = stream_id
        appended = self.append_now(stream_id, expected_version, events)
        self.reservations = held
        return appended

    async def owner_of(self, kind: str, value: str) -> str | None:
        return self.reservations.get((kind, value))

    def append_now(self, stream_id: str, expected_version: int, events: Sequence[Event]) -> list[Envelope]:
        """Append at once, without reservations or the concurrent writers: what a racer does."""
        self._check_version(stream_id, expected_version)
        stream = self.streams.setdefault(stream_id, [])
        appended = [
            wrap(event, stream_id, number, self.producer) for number, event in enumerate(events, len(stream) + 1)
        ]
        stream.extend(appended)
        return appended

    def _check_version(self, stream_id: str, expected_version: int) -> None:
        actual = len(self.streams.get(stream_id, []))
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)

    async def read_stream(self, stream_id: str) -> list[Envelope]:
        return list(self.streams.get(stream_id, []))

    async def version_of(self, stream_id: str) -> int:
        return len(self.streams.get(stream_id, []))

    async def next_id(self, sequence: str) -> int:
        return next(self._ids)
