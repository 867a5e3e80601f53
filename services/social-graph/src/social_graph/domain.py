"""The Follow edge aggregate: one event stream per ordered pair (follower, followee).

Decisions are pure functions from the edge's state to new events; the state is rebuilt by
folding the stream's events through `apply`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce, singledispatch

from microblog_shared.events import Event, UserFollowed, UserUnfollowed


class CannotFollowYourself(ValueError):
    """Following (or unfollowing) yourself is refused."""


class UnknownUser(LookupError):
    """The person to follow doesn't exist."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} not found")
        self.user_id = user_id


@dataclass(frozen=True)
class FollowEdge:
    """What an edge's events say: whether the follower follows now, and how many events there are."""

    following: bool = False
    version: int = 0


def stream_id(follower_id: int, followee_id: int) -> str:
    return f"follow-{follower_id}-{followee_id}"


def follow(edge: FollowEdge, follower_id: int, followee_id: int, now: datetime) -> list[UserFollowed]:
    """A person follows another: one UserFollowed, or nothing when already following."""
    if follower_id == followee_id:
        raise CannotFollowYourself("you cannot follow yourself")
    if edge.following:
        return []
    return [UserFollowed(follower_id=follower_id, followee_id=followee_id, followed_at=now)]


def unfollow(edge: FollowEdge, follower_id: int, followee_id: int, now: datetime) -> list[UserUnfollowed]:
    """A person stops following another: one UserUnfollowed, or nothing when not following."""
    if follower_id == followee_id:
        raise CannotFollowYourself("you cannot unfollow yourself")
    if not edge.following:
        return []
    return [UserUnfollowed(follower_id=follower_id, followee_id=followee_id, unfollowed_at=now)]


@singledispatch
def apply(event: Event, edge: FollowEdge) -> FollowEdge:
    """The edge after one more of its events."""
    raise TypeError(f"a follow edge has no {type(event).__name__} events")


@apply.register
def _followed(event: UserFollowed, edge: FollowEdge) -> FollowEdge:
    return FollowEdge(following=True, version=edge.version + 1)


@apply.register
def _unfollowed(event: UserUnfollowed, edge: FollowEdge) -> FollowEdge:
    return FollowEdge(following=False, version=edge.version + 1)


def fold(events: Iterable[Event], edge: FollowEdge = FollowEdge()) -> FollowEdge:
    """The edge that a stream's events, in order, describe."""
    return reduce(lambda state, event: apply(event, state), events, edge)
