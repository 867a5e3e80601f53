"""Background tasks: exporting your own posts (the posts service runs the export)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.deps import Caller, Services
from gateway.idempotency import IdempotencyKey, kept
from gateway.schemas import Task, TaskId, checked, errors

router = APIRouter(tags=["tasks"])


@router.post(
    "/exports",
    status_code=202,
    response_model=Task,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 409, 422),
    summary="Export your posts to a JSON file, mailed to you when done; 409 while an export runs; "
    "answers with X-Consistency-Token",
    description=kept() + " A retry answers the task the key started, not a 409.",
)
async def export_posts(
    caller: Caller, request: Request, response: Response, services: Services, idempotency_key: IdempotencyKey = None
):
    return checked(
        await services.posts.forward("POST", "/exports", request, caller, idempotency_key=idempotency_key), response
    )


@router.get(
    "/tasks/{task_id}",
    response_model=Task,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 404),
    summary="One of your background tasks, with its progress",
)
async def get_task(task_id: TaskId, caller: Caller, request: Request, response: Response, services: Services):
    return checked(await services.posts.forward("GET", f"/tasks/{task_id}", request, caller), response)
