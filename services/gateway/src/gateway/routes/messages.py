"""Private messages: only the sender and the recipient ever see one (the messaging service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.auth import Caller
from gateway.schemas import Message, MessageCollection, NewMessage, UserId, errors
from microblog_shared.http.pagination import PageParams, page_params

router = APIRouter(tags=["messages"])
Page = Annotated[PageParams, Depends(page_params)]


@router.post("/users/{user_id}/messages", status_code=201, response_model=Message, responses=errors(400, 401, 404),
             summary="Send the user a private message (1 to 140 characters); answers with X-Consistency-Token")
async def send_message(user_id: UserId, body: NewMessage, caller: Caller, request: Request):
    return await request.app.state.backends.messaging.forward("POST", f"/users/{user_id}/messages", request, caller,
                                                              json=body.model_dump())


@router.get("/messages", response_model=MessageCollection, responses=errors(400, 401),
            summary="Your received messages, newest first; reading them marks them all read")
async def received_messages(caller: Caller, request: Request, page: Page):
    return await request.app.state.backends.messaging.forward("GET", "/messages", request, caller,
                                                              params=page.model_dump(exclude_none=True))
