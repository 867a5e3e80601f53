"""One command step of a write service: load a stream's state, decide, append at its version.

The conflict policy, the same for every service: a decision is taken on the state that was
loaded and appended at that state's version. If another writer appended first
(ConcurrencyError), the command is loaded and decided again on the new state, up to
`attempts` times in all; the last conflict propagates (409 through the shared error
handlers). Every lost race counts in `microblog_append_conflicts_total{service}`.

- ATTEMPTS (2) for a stream one person writes (a user, a session, a post): a second lost
  race in a row is a real conflict worth telling the caller about.
- CONTENDED (10) for a stream many write at once (a follow edge raced from many tabs, an
  inbox receiving from many senders): each racer costs the others at most one retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client import Counter

from microblog_shared.events import Envelope, Event, registry
from microblog_shared.events.envelope import utcnow
from microblog_shared.runtime import context
from microblog_shared.write.port import ConcurrencyError, EventStore, StateUpdate

__all__ = ["ATTEMPTS", "CONTENDED", "Outcome", "execute", "retrying", "utcnow", "wrap"]

ATTEMPTS = 2
CONTENDED = 10

APPEND_CONFLICTS = Counter(
    "microblog_append_conflicts_total",
    "Appends that lost a race and were decided again (or answered 409)",
    ["service"],
)

S = TypeVar("S")
T = TypeVar("T")


def wrap(event: Event, stream_id: str, version: int, producer: str) -> Envelope:
    """`event` as version `version` of its stream, with the correlation and causation of the work in progress."""
    return Envelope(
        type=event.type_name,
        schema_version=event.schema_version,
        stream_id=stream_id,
        stream_version=version,
        producer=producer,
        correlation_id=context.correlation_id.get(),
        causation_id=context.causation_id.get(),
        payload=event.model_dump(mode="json"),
    )


async def retrying(store: EventStore, attempt: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """Run `attempt` (which loads, decides and appends) again after each lost race, per the policy above."""
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except ConcurrencyError:
            APPEND_CONFLICTS.labels(store.producer).inc()
            if number == attempts:
                raise
    raise ValueError(f"attempts must be at least 1, not {attempts}")


@dataclass(frozen=True)
class Outcome(Generic[S]):
    """What a command did to its stream."""

    state: S  # the state the decision was taken on
    events: Sequence[Event]  # what was decided (and appended, unless nothing)
    last_event: Envelope | None  # the stream's newest envelope after the command


async def execute(
    store: EventStore,
    stream_id: str,
    fold: Callable[[Iterable[Event]], S],
    decide: Callable[[S], Sequence[Event]],
    record: Callable[[Sequence[Event]], StateUpdate] | None = None,
    attempts: int = ATTEMPTS,
) -> Outcome[S]:
    """Fold the stream into its state, `decide` on it, append what was decided (`record` its state rows).

    `decide` is pure and may raise to refuse; it returns no events when nothing changes.
    """

    async def once() -> Outcome[S]:
        history = await store.read_stream(stream_id)
        state = fold(registry.decode(envelope) for envelope in history)
        events = decide(state)
        if not events:
            return Outcome(state, events, history[-1] if history else None)
        version = history[-1].stream_version if history else 0
        update = record(events) if record else None
        appended = await store.append(stream_id, version, events, update_state=update)
        return Outcome(state, events, appended[-1])

    return await retrying(store, once, attempts)
