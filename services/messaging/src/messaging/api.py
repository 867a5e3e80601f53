"""Messaging's internal HTTP API (reached only through the gateway, which sets X-User-Id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from messaging import handlers
from messaging.adapters import messages
from messaging.deps import CallerIdInRange, Engine, Store, Users
from microblog_shared.http.auth import MAX_USER_ID
from microblog_shared.http.idempotency import IdempotencyKey
from microblog_shared.http.pagination import PageParams, collection, encode_cursor, page_params
from microblog_shared.http.text import Text
from microblog_shared.read.consistency import HEADER as CONSISTENCY_HEADER
from microblog_shared.read.consistency import ConsistencyToken

router = APIRouter()

UserId = Annotated[int, Path(ge=1, le=MAX_USER_ID)]
Page = Annotated[PageParams, Depends(page_params)]


class NewMessage(BaseModel):
    body: Text


@router.post("/users/{recipient_id}/messages", status_code=201)
async def send_message(
    recipient_id: UserId,
    message: NewMessage,
    sender_id: CallerIdInRange,
    store: Store,
    users: Users,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The caller sends the recipient a private message: 201 with the message and its consistency token.

    A retry with the same Idempotency-Key answers the message the key first sent.
    """
    sent = await handlers.send_message(store, users, sender_id, recipient_id, message.body, idempotency_key)
    view = messages.message_view(sent.message, sent.sender_name, sent.recipient_name)
    return JSONResponse(view, status_code=201, headers={CONSISTENCY_HEADER: str(ConsistencyToken.of(sent.last_event))})


@router.get("/messages")
async def received_messages(user_id: CallerIdInRange, page: Page, engine: Engine, store: Store) -> JSONResponse:
    """The caller's received messages, newest first; reading them marks them all read."""
    rows, total = await messages.received(engine, user_id, page.per_page, page.offset, page.after_id())
    next_after = encode_cursor(rows[-1].id) if rows else None
    body = collection([messages.message_view(row) for row in rows], page, total, "/api/messages", next_after)
    read = await handlers.read_inbox(store, user_id)
    headers = {CONSISTENCY_HEADER: str(ConsistencyToken.of(read))} if read is not None else {}
    return JSONResponse(body, headers=headers)
