"""The timeline read API: every read first honours the caller's consistency token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response

from microblog_shared.consistency import ConsistencyToken, InvalidToken
from microblog_shared.pagination import PageParams, collection, page_params
from timeline import queries

router = APIRouter()


async def consistent(
    request: Request,
    response: Response,
    x_consistency_token: Annotated[str | None, Header()] = None,
    x_consistency_timeout: Annotated[float | None, Header(ge=0, le=10)] = None,
) -> None:
    """Wait (bounded) until the projection has applied the caller's last write."""
    if not x_consistency_token:
        return
    try:
        token = ConsistencyToken.parse(x_consistency_token)
    except InvalidToken as exc:
        raise HTTPException(400, str(exc)) from None
    settings = request.app.state.settings
    timeout = min(x_consistency_timeout if x_consistency_timeout is not None else settings.consistency_wait_seconds,
                  settings.consistency_wait_seconds)
    reached = await request.app.state.waiter.wait(token, timeout)
    response.headers["X-Consistency-Reached"] = "true" if reached else "false"


Consistent = Depends(consistent)


@router.get("/users/{user_id}/posts", dependencies=[Consistent])
async def user_posts(user_id: int, request: Request, page: Annotated[PageParams, Depends(page_params)]):
    async with request.app.state.engine.connect() as conn:
        if not await queries.user_exists(conn, user_id):
            raise HTTPException(404, "no such user")
        items, total = await queries.user_posts(conn, user_id, page)
    return collection(items, page, total, f"/api/users/{user_id}/posts")
