"""Social graph's internal HTTP API (reached only through the gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response

from microblog_shared.http.auth import CurrentUserId
from microblog_shared.read.consistency import HEADER as CONSISTENCY_HEADER, ConsistencyToken
from microblog_shared.events import Envelope
from social_graph import domain, handlers
from social_graph.adapters import edges
from social_graph.adapters.identity import IdentityUnavailable

router = APIRouter()

MAX_ID = 2**63 - 1  # user ids are bigint everywhere; a larger one can't name anybody
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/users/{user_id}/follow", status_code=204)
async def follow(user_id: UserId, follower_id: CurrentUserId, request: Request) -> Response:
    """The caller follows the user (idempotent): 204 with the edge's consistency token."""
    return await _edge_change(handlers.follow_user, follower_id, user_id, request)


@router.delete("/users/{user_id}/follow", status_code=204)
async def unfollow(user_id: UserId, follower_id: CurrentUserId, request: Request) -> Response:
    """The caller stops following the user (idempotent): 204, with a token once the edge has events."""
    return await _edge_change(handlers.unfollow_user, follower_id, user_id, request)


@router.get("/users/{user_id}/following/{other_id}")
async def is_following(user_id: UserId, other_id: UserId, request: Request) -> dict:
    """Whether `user_id` follows `other_id` now (from the edges state table)."""
    return {"following": await edges.is_following(request.app.state.engine, user_id, other_id)}


async def _edge_change(change, follower_id: int, followee_id: int, request: Request) -> Response:
    if not 1 <= follower_id <= MAX_ID:
        raise HTTPException(400, "X-User-Id must be a user id")
    state = request.app.state
    try:
        last: Envelope | None = await change(state.store, state.users, follower_id, followee_id)
    except domain.CannotFollowYourself as exc:
        raise HTTPException(400, str(exc)) from None
    except domain.UnknownUser as exc:
        raise HTTPException(404, str(exc)) from None
    except IdentityUnavailable:
        raise HTTPException(503, "the identity service is unavailable; try again shortly") from None
    response = Response(status_code=204)
    # Also when nothing changed, so that a client can always wait on the edge's current state.
    if last is not None:
        response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(last))
    return response
