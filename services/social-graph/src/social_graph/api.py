"""Social graph's internal HTTP API (reached only through the gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from microblog_shared.events import Envelope
from microblog_shared.http.auth import MAX_USER_ID
from microblog_shared.read.consistency import HEADER as CONSISTENCY_HEADER
from microblog_shared.read.consistency import ConsistencyToken
from social_graph import handlers
from social_graph.adapters import edges
from social_graph.deps import CallerIdInRange, Engine, Store, Users

router = APIRouter()

UserId = Annotated[int, Path(ge=1, le=MAX_USER_ID)]


@router.post("/users/{user_id}/follow", status_code=204)
async def follow(user_id: UserId, follower_id: CallerIdInRange, store: Store, users: Users) -> Response:
    """The caller follows the user (idempotent): 204 with the edge's consistency token."""
    return _answer(await handlers.follow_user(store, users, follower_id, user_id))


@router.delete("/users/{user_id}/follow", status_code=204)
async def unfollow(user_id: UserId, follower_id: CallerIdInRange, store: Store, users: Users) -> Response:
    """The caller stops following the user (idempotent): 204, with a token once the edge has events."""
    return _answer(await handlers.unfollow_user(store, users, follower_id, user_id))


@router.get("/users/{user_id}/following/{other_id}")
async def is_following(user_id: UserId, other_id: UserId, engine: Engine) -> dict:
    """Whether `user_id` follows `other_id` now (from the edges state table)."""
    return {"following": await edges.is_following(engine, user_id, other_id)}


@router.get("/users/{user_id}/counts")
async def counts(user_id: UserId, engine: Engine) -> dict:
    """How many follow the user and how many they follow, now (for the gateway's answer to a profile change)."""
    followers, followed = await edges.counts(engine, user_id)
    return {"follower_count": followers, "followed_count": followed}


def _answer(last: Envelope | None) -> Response:
    response = Response(status_code=204)
    # Also when nothing changed, so that a client can always wait on the edge's current state.
    if last is not None:
        response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(last))
    return response
