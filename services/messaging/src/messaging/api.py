"""Messaging's internal HTTP API (reached only through the gateway, which sets X-User-Id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from microblog_shared.http.auth import CurrentUserId
from microblog_shared.read.consistency import HEADER as CONSISTENCY_HEADER, ConsistencyToken
from microblog_shared.http.pagination import PageParams, collection, encode_cursor, page_params
from messaging import domain, handlers
from messaging.adapters import messages
from messaging.adapters.identity import IdentityUnavailable

router = APIRouter()

MAX_ID = 2**63 - 1  # user ids are bigint everywhere; a larger one can't name anybody
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
Page = Annotated[PageParams, Depends(page_params)]


class NewMessage(BaseModel):
    body: str


def _caller(user_id: int) -> int:
    if not 1 <= user_id <= MAX_ID:
        raise HTTPException(400, "X-User-Id must be a user id")
    return user_id


@router.post("/users/{recipient_id}/messages", status_code=201)
async def send_message(recipient_id: UserId, message: NewMessage, sender_id: CurrentUserId,
                       request: Request) -> JSONResponse:
    """The caller sends the recipient a private message: 201 with the message and its consistency token."""
    state = request.app.state
    try:
        sent = await handlers.send_message(state.store, state.users, _caller(sender_id), recipient_id, message.body)
    except domain.InvalidMessage as exc:
        raise HTTPException(400, str(exc)) from None
    except domain.UnknownUser as exc:
        raise HTTPException(404, str(exc)) from None
    except IdentityUnavailable:
        raise HTTPException(503, "the identity service is unavailable; try again shortly") from None
    view = messages.message_view(sent.message, sent.sender_name, sent.recipient_name)
    return JSONResponse(view, status_code=201,
                        headers={CONSISTENCY_HEADER: str(ConsistencyToken.of(sent.last_event))})


@router.get("/messages")
async def received_messages(user_id: CurrentUserId, page: Page, request: Request) -> JSONResponse:
    """The caller's received messages, newest first; reading them marks them all read."""
    engine = request.app.state.engine
    cursor = page.cursor()
    if cursor is not None and (len(cursor) != 1 or not isinstance(cursor[0], int)):
        raise HTTPException(400, "malformed cursor in 'after'")
    rows, total = await messages.received(engine, _caller(user_id), page.per_page, page.offset,
                                          cursor[0] if cursor else None)
    next_after = encode_cursor(rows[-1].id) if rows else None
    body = collection([messages.message_view(row) for row in rows], page, total, "/api/messages", next_after)
    read = await handlers.read_inbox(request.app.state.store, user_id)
    headers = {CONSISTENCY_HEADER: str(ConsistencyToken.of(read))} if read is not None else {}
    return JSONResponse(body, headers=headers)
