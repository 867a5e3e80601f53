"""The event store as handlers see it: a port, whatever stores the events.

`eventstore.EventStore` (PostgreSQL) implements it for the services, and
`microblog_testkit.fakes.InMemoryEventStore` for the handler tests of the inner ring.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import Envelope, Event

# A service's write to its own state tables, run inside the append's transaction.
StateUpdate = Callable[[AsyncConnection], Awaitable[None]]


class ConcurrencyError(Exception):
    """The stream moved on since it was read: the caller's decision is stale (HTTP 409)."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id} is at version {actual}, expected {expected}")
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


class ReservationTaken(Exception):
    """A unique value (a username, an email, a follow edge) already belongs to another stream."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{kind} {value!r} is already taken")
        self.kind, self.value = kind, value


@dataclass(frozen=True)
class Reservation:
    """Claim `value` of `kind` for the appended stream, in the append's transaction."""

    kind: str
    value: str


class EventStore(Protocol):
    """Streams of events, each appended to only at the version its writer read."""

    @property
    def producer(self) -> str:
        """The service whose events these are (the envelopes' `producer`)."""
        ...

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        reserve: Sequence[Reservation] = (),
        release: Sequence[Reservation] = (),
        update_state: StateUpdate | None = None,
    ) -> list[Envelope]:
        """Append `events` to a stream at `expected_version` (0: a new one), or ConcurrencyError.

        ReservationTaken if a value to `reserve` belongs to another stream; `release` frees values.
        """
        ...

    async def read_stream(self, stream_id: str) -> list[Envelope]:
        """Every envelope of the stream, oldest first."""
        ...

    async def version_of(self, stream_id: str) -> int:
        """How many events the stream has: the expected version of its next append."""
        ...

    async def next_id(self, sequence: str) -> int:
        """The next integer id from a named sequence."""
        ...

    async def owner_of(self, kind: str, value: str) -> str | None:
        """The stream holding a reservation, if any."""
        ...
