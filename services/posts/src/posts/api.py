"""Posts' internal HTTP API (reached only through the gateway, which sets X-User-Id)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from microblog_shared.http.idempotency import IdempotencyKey
from microblog_shared.http.text import Text
from microblog_shared.http.views import iso
from microblog_shared.read.consistency import HEADER as CONSISTENCY_HEADER
from microblog_shared.read.consistency import ConsistencyToken
from posts import domain, exports, handlers
from posts.adapters import exports as export_tables
from posts.deps import CallerId, Detector, Engine, Store

router = APIRouter()

# Ids come from a PostgreSQL bigint sequence; anything outside is a bad request, not a 404 (users' too).
PostId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TaskId = Annotated[uuid.UUID, Path(description="an export task's id")]


class PostBody(BaseModel):
    body: Text = Field(max_length=10 * domain.MAX_BODY)  # the domain gives the precise message


@router.post("/posts", status_code=201)
async def create_post(
    new: PostBody,
    user_id: CallerId,
    store: Store,
    detect_language: Detector,
    response: Response,
    idempotency_key: IdempotencyKey = None,
):
    written = await handlers.write_post(store, detect_language, user_id, new.body, idempotency_key)
    response.headers["Location"] = f"/api/posts/{written.post.post_id}"
    return _answer(written, response)


@router.put("/posts/{post_id}")
async def edit_post(
    post_id: PostId, edit: PostBody, user_id: CallerId, store: Store, detect_language: Detector, response: Response
):
    written = await handlers.edit_post(store, detect_language, post_id, user_id, edit.body)
    return {**_answer(written, response), "edited_at": iso(written.post.edited_at)}


@router.delete("/posts/{post_id}", status_code=204)
async def delete_post(post_id: PostId, user_id: CallerId, store: Store):
    written = await handlers.delete_post(store, post_id, user_id)
    return Response(status_code=204, headers={CONSISTENCY_HEADER: str(ConsistencyToken.of(written.last_event))})


@router.post("/exports", status_code=202)
async def request_export(user_id: CallerId, store: Store, response: Response, idempotency_key: IdempotencyKey = None):
    """Start exporting the caller's posts: 202 with the task; 409 while their last export runs.

    A retry with the same Idempotency-Key answers the task the key started, running or not.
    """
    export, requested = await handlers.request_export(store, user_id, idempotency_key)
    response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(requested))
    return exports.task_view(export)


# The gateway's answer to a profile change counts a user's posts here: the state table has each post
# as soon as its write answered, where the timeline's count may not have it yet.
@router.get("/users/{user_id}/post-count")
async def post_count(user_id: PostId, store: Store) -> dict:
    """How many live posts the user has now."""
    return {"post_count": await store.post_count(user_id)}


# Tasks are read from posts' own state table, written with each event: a token needs no wait.
@router.get("/tasks/{task_id}")
async def get_task(task_id: TaskId, user_id: CallerId, engine: Engine):
    """The caller's task (404 for anyone else's)."""
    return exports.task_view(await _own_export(engine, task_id, user_id))


@router.get("/exports/{task_id}/file")
async def export_file(task_id: TaskId, user_id: CallerId, engine: Engine):
    """The finished file of the caller's export, oldest post first; 409 until it is complete."""
    export = await _own_export(engine, task_id, user_id)
    if not export.complete:
        raise HTTPException(409, "the export is still running")
    rows = await export_tables.exported(engine, export.task_id)
    return {
        "posts": [
            {"id": row.post_id, "body": row.body, "timestamp": iso(row.created_at), "language": row.language}
            for row in rows
        ]
    }


async def _own_export(engine: AsyncEngine, task_id: uuid.UUID, user_id: int) -> exports.Export:
    export = await export_tables.task(engine, str(task_id), user_id)
    if export is None:
        raise exports.ExportNotFound()
    return export


def _answer(written: handlers.Written, response: Response) -> dict:
    response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(written.last_event))
    post = written.post
    return {
        "id": post.post_id,
        "body": post.body,
        "language": post.language,
        "timestamp": iso(post.created_at),
        "author": {"id": post.author_id},
    }
