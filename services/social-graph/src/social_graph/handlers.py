"""Social graph's use cases: load the edge, decide, append with the expected version. No HTTP here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from microblog_shared.events import Envelope, Event
from microblog_shared.write.handling import CONTENDED, execute, utcnow
from microblog_shared.write.port import EventStore
from social_graph import domain
from social_graph.adapters import edges

Decision = Callable[[domain.FollowEdge, int, int, datetime], Sequence[Event]]


class Users(Protocol):
    """Who exists (identity's API in production: microblog_shared.http.identity_client.IdentityUsers)."""

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
    # Racing requests for one pair (many tabs, many replicas) make the edge a contended stream.
    now = utcnow()
    decide(domain.FollowEdge(), follower_id, followee_id, now)  # the pure self-check, before any call
    if not await users.exists(followee_id):
        raise domain.UnknownUser(followee_id)
    outcome = await execute(
        store,
        domain.stream_id(follower_id, followee_id),
        domain.fold,
        lambda edge: decide(edge, follower_id, followee_id, now),
        lambda events: edges.record(events[-1]),
        attempts=CONTENDED,
    )
    return outcome.last_event
