"""Posts' internal HTTP API (reached only through the gateway, which sets X-User-Id)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Annotated, Iterator

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field

from microblog_shared.auth import CurrentUserId
from microblog_shared.consistency import HEADER as CONSISTENCY_HEADER, ConsistencyToken
from posts import domain, handlers

router = APIRouter()

# Ids come from a PostgreSQL bigint sequence; anything outside is a bad request, not a 404.
PostId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class PostBody(BaseModel):
    body: str = Field(max_length=10 * domain.MAX_BODY)  # the domain gives the precise message


@router.post("/posts", status_code=201)
async def create_post(new: PostBody, user_id: CurrentUserId, request: Request, response: Response):
    with _domain_errors():
        written = await handlers.write_post(request.app.state.store, request.app.state.detect_language,
                                            user_id, new.body)
    return _answer(written, response)


@router.put("/posts/{post_id}")
async def edit_post(post_id: PostId, edit: PostBody, user_id: CurrentUserId, request: Request, response: Response):
    with _domain_errors():
        written = await handlers.edit_post(request.app.state.store, request.app.state.detect_language,
                                           post_id, user_id, edit.body)
    return {**_answer(written, response), "edited_at": _iso(written.post.edited_at)}


@router.delete("/posts/{post_id}", status_code=204)
async def delete_post(post_id: PostId, user_id: CurrentUserId, request: Request):
    with _domain_errors():
        written = await handlers.delete_post(request.app.state.store, post_id, user_id)
    return Response(status_code=204, headers={CONSISTENCY_HEADER: str(ConsistencyToken.of(written.last_event))})


def _answer(written: handlers.Written, response: Response) -> dict:
    response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(written.last_event))
    post = written.post
    return {
        "id": post.post_id,
        "body": post.body,
        "language": post.language,
        "timestamp": _iso(post.created_at),
        "author": {"id": post.author_id},
    }


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, whatever offset an old event was written with."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@contextmanager
def _domain_errors() -> Iterator[None]:
    try:
        yield
    except domain.InvalidPost as exc:
        raise HTTPException(400, str(exc)) from None
    except domain.NotYourPost as exc:
        raise HTTPException(403, str(exc)) from None
    except domain.PostNotFound as exc:
        raise HTTPException(404, str(exc)) from None
