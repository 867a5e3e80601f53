"""Notifications: the unread-message badge and background task progress (the notifier service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.deps import Caller, Services
from gateway.schemas import Notification, checked, errors

router = APIRouter(tags=["notifications"])

Since = Annotated[
    float,
    Query(ge=0, le=1e11, allow_inf_nan=False, description="only notifications newer than this moment (unix seconds)"),
]


@router.get(
    "/notifications",
    response_model=list[Notification],
    response_model_exclude_unset=True,
    responses=errors(400, 401),
    summary="Your current notifications newer than `since`, oldest first (poll with the newest timestamp)",
)
async def notifications(caller: Caller, request: Request, response: Response, services: Services, since: Since = 0.0):
    return checked(
        await services.notifier.forward("GET", "/notifications", request, caller, params={"since": repr(since)}),
        response,
    )
