"""Posts' internal HTTP API (reached only through the gateway)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from microblog_shared.auth import CurrentUserId
from microblog_shared.consistency import HEADER as CONSISTENCY_HEADER, ConsistencyToken
from posts import domain, handlers

router = APIRouter()


class NewPost(BaseModel):
    body: str = Field(max_length=10 * domain.MAX_BODY)  # the domain gives the precise message


@router.post("/posts", status_code=201)
async def create_post(body: NewPost, user_id: CurrentUserId, request: Request, response: Response):
    try:
        appended = await handlers.write_post(request.app.state.store, user_id, body.body)
    except domain.InvalidPost as exc:
        raise HTTPException(400, str(exc)) from None
    response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(appended))
    payload = appended.payload
    return {
        "id": payload["post_id"],
        "body": payload["body"],
        "timestamp": payload["created_at"],
        "author": {"id": payload["author_id"]},
    }
