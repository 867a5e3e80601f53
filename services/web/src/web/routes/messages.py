"""Private messages: writing one from a profile, and the inbox (reading it clears the badge)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from microblog_shared.http.paths import segment
from web import forms
from web.deps import Settings
from web.gateway import GatewayError, Invalid
from web.i18n import _
from web.pages import CSRF, Member, Visitor, redirect, render
from web.routes.main import page_of, pager
from web.routes.profiles import find_user

router = APIRouter()


@router.get("/send_message/{username}")
async def send_message_page(username: str, visitor: Member):
    recipient = await find_user(visitor, username)
    return await render(visitor, "send_message.html", title=_("Send Message"), recipient=recipient, form=forms.Form())


@router.post("/send_message/{username}", dependencies=[CSRF])
async def send_message(username: str, request: Request, visitor: Member):
    recipient = await find_user(visitor, username)
    form = forms.message_form(await request.form())
    if form.valid:
        try:
            await visitor.gateway.send_message(visitor.caller, recipient["id"], form.data["message"])
        except Invalid as refused:
            form.error("message", refused.message or _("Please check what you entered."))
        else:
            visitor.flash(_("Your message has been sent."), "success")
            return redirect(f"/user/{segment(recipient['username'])}")
    return await render(
        visitor, "send_message.html", status=400, title=_("Send Message"), recipient=recipient, form=form
    )


async def _senders(visitor: Visitor, user_ids: set[int]) -> dict[int, dict]:
    """The senders' profiles (a message names its parties by id, without their pictures)."""

    async def one(user_id: int) -> tuple[int, dict]:
        try:
            return user_id, await visitor.gateway.user(visitor.caller, user_id)
        except GatewayError:
            return user_id, {}

    return dict(await asyncio.gather(*(one(user_id) for user_id in user_ids)))


@router.get("/messages")
async def messages(request: Request, visitor: Member, settings: Settings):
    page = page_of(request)
    received = await visitor.gateway.messages(visitor.caller, page, settings.posts_per_page)
    senders = await _senders(visitor, {m["sender"]["id"] for m in received["items"]})
    for message in received["items"]:
        known = senders.get(message["sender"]["id"], {})
        message["sender"]["username"] = message["sender"].get("username") or known.get("username", "")
        message["sender"]["avatar"] = known.get("_links", {}).get("avatar", "")
    return await render(
        visitor,
        "messages.html",
        title=_("Messages"),
        messages=received["items"],
        pages=pager(received, page),
        unread_count=0,
    )
