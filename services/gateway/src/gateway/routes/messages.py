"""Private messages: only the sender and the recipient ever see one (the messaging service)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.deps import Caller, Page, Services
from gateway.idempotency import IdempotencyKey, kept
from gateway.schemas import Message, MessageCollection, NewMessage, UserId, checked, errors

router = APIRouter(tags=["messages"])


@router.post(
    "/users/{user_id}/messages",
    status_code=201,
    response_model=Message,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 404, 422),
    summary="Send the user a private message (1 to 140 characters); answers with X-Consistency-Token",
    description=kept(),
)
async def send_message(
    user_id: UserId,
    body: NewMessage,
    caller: Caller,
    request: Request,
    response: Response,
    services: Services,
    idempotency_key: IdempotencyKey = None,
):
    sent = await services.messaging.forward(
        "POST", f"/users/{user_id}/messages", request, caller, json=body.model_dump(), idempotency_key=idempotency_key
    )
    return checked(sent, response)


@router.get(
    "/messages",
    response_model=MessageCollection,
    response_model_exclude_unset=True,
    responses=errors(400, 401),
    summary="Your received messages, newest first; reading them marks them all read",
)
async def received_messages(caller: Caller, request: Request, response: Response, services: Services, page: Page):
    return checked(
        await services.messaging.forward(
            "GET", "/messages", request, caller, params=page.model_dump(exclude_none=True)
        ),
        response,
    )
