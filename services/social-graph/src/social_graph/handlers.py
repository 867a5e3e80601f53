"""Social graph's use cases: load the edge, decide, append with the expected version. No HTTP here."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Protocol, Sequence

from prometheus_client import Counter

from microblog_shared.events import Envelope, Event, registry
from microblog_shared.write.eventstore import ConcurrencyError, EventStore
from social_graph import domain
from social_graph.adapters import edges

# Racing requests for one pair lose the append at most once per other racer; more than this
# many in a row means a pathological burst, answered 409 by the shared error handlers.
ATTEMPTS = 10

EDGE_CONFLICTS = Counter(
    "microblog_follow_edge_conflicts_total", "Edge appends that lost a race and were decided again"
)

Decision = Callable[[domain.FollowEdge, int, int, datetime], Sequence[Event]]


class Users(Protocol):
    """Who exists (identity's API in production; adapters.identity.IdentityUsers)."""

    async def exists(self, user_id: int) -> bool: ...


async def follow_user(store: EventStore, users: Users, follower_id: int, followee_id: int) -> Envelope | None:
    """The follower follows the followee (idempotent); the edge stream's last event, if any."""
    return await _change_edge(store, users, domain.follow, follower_id, followee_id)


async def unfollow_user(store: EventStore, users: Users, follower_id: int, followee_id: int) -> Envelope | None:
    """The follower stops following the followee (idempotent); the edge stream's last event, if any."""
    return await _change_edge(store, users, domain.unfollow, follower_id, followee_id)


async def _change_edge(
    store: EventStore, users: Users, decide: Decision, follower_id: int, followee_id: int
) -> Envelope | None:
    stream = domain.stream_id(follower_id, followee_id)
    for attempt in range(1, ATTEMPTS + 1):
        history = await store.read_stream(stream)
        edge = domain.fold(registry.decode(e) for e in history)
        events = decide(edge, follower_id, followee_id, datetime.now(timezone.utc))
        if attempt == 1 and not await users.exists(followee_id):  # after the pure self-check
            raise domain.UnknownUser(followee_id)
        if not events:
            return history[-1] if history else None
        try:
            appended = await store.append(stream, edge.version, events, update_state=edges.record(events[-1]))
        except ConcurrencyError:
            EDGE_CONFLICTS.inc()
            if attempt == ATTEMPTS:
                raise
            continue  # another request changed this edge first: decide again on its new state
        return appended[-1]
    raise AssertionError("unreachable")
