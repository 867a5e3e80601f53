"""Profiles: a user's page and popup, editing one's own, following, exporting one's posts."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from microblog_shared.http.paths import segment
from web import forms
from web.deps import Settings, Templates
from web.forms import USERNAME
from web.gateway import Conflict, Invalid, NotFound, RateLimited
from web.i18n import _
from web.pages import (
    CSRF,
    AnyVisitor,
    Member,
    Visitor,
    alongside_badge,
    current_notifications,
    dropped,
    redirect,
    render,
    running_export,
)
from web.routes.main import page_of, pager
from web.session import csrf_token

router = APIRouter()


async def find_user(visitor: Visitor, username: str) -> dict:
    """The user named so, or the 404 page."""
    if not USERNAME.match(username):
        raise HTTPException(404)
    try:
        person = await visitor.gateway.user_by_name(visitor.caller, username)
    except (NotFound, Invalid):
        raise HTTPException(404) from None
    if isinstance(person.get("id"), int):
        visitor.request.app.state.user_ids.put(username, person["id"])
    return person


async def user_and_posts(visitor: Visitor, username: str, page: int, per_page: int) -> tuple[dict, dict]:
    """The user named so and a page of their posts, both asked for at once when the id is known (userids.py)."""
    guess = visitor.request.app.state.user_ids.get(username)
    if guess is None:
        person = await find_user(visitor, username)
        return person, await visitor.gateway.user_posts(visitor.caller, person["id"], page, per_page)
    posts = asyncio.ensure_future(visitor.gateway.user_posts(visitor.caller, guess, page, per_page))
    try:
        person = await find_user(visitor, username)
    except BaseException:
        await dropped(posts)
        raise
    if person["id"] == guess:
        return person, await posts
    await dropped(posts)
    return person, await visitor.gateway.user_posts(visitor.caller, person["id"], page, per_page)


@router.get("/user/{username}")
async def user(username: str, request: Request, visitor: Member, settings: Settings):
    page = page_of(request)
    person, posts = await alongside_badge(visitor, user_and_posts(visitor, username, page, settings.posts_per_page))
    return await render(
        visitor,
        "user.html",
        title=person["username"],
        user=person,
        posts=posts["items"],
        pages=pager(posts, page),
        base_path=f"/user/{segment(person['username'])}",
    )


@router.get("/user/{username}/popup")
async def user_popup(username: str, visitor: Member, templates: Templates):
    person = await find_user(visitor, username)
    template = templates.get_template("user_popup.html")
    return HTMLResponse(
        template.render(user=person, visitor=visitor, timezone=visitor.timezone, csrf_token=csrf_token(visitor.session))
    )


@router.get("/edit_profile")
async def edit_profile_page(visitor: Member):
    me = await visitor.gateway.me(visitor.caller)
    form = forms.Form(
        {"username": me["username"], "email": me.get("email") or "", "about_me": me.get("about_me") or ""}
    )
    return await render(visitor, "edit_profile.html", title=_("Edit Profile"), form=form)


@router.post("/edit_profile", dependencies=[CSRF])
async def edit_profile(request: Request, visitor: Member):
    current_email = (await visitor.gateway.me(visitor.caller)).get("email") or ""
    form = forms.profile_form(await request.form(), current_email)
    assert visitor.user_id is not None  # a Member is signed in
    if form.valid:
        changes = {"username": form.data["username"], "about_me": form.data["about_me"]}
        if form.data["email"] != current_email:
            changes |= {"email": form.data["email"], "current_password": form.data["current_password"]}
        try:
            changed = await visitor.gateway.update_user(visitor.caller, visitor.user_id, **changes)
        except (Invalid, Conflict) as refused:
            if "username" in refused.message:
                form.error("username", _("Please use a different username."))
            elif "password" in refused.message:
                form.error("current_password", _("Invalid password."))
            elif "email" in refused.message:
                form.error("email", _("Please use a different email address."))
            else:
                form.error("about_me", _("Please check what you entered."))
        else:
            visitor.session["username"] = changed.get("username", form.data["username"])
            if changed.get("pending_email"):
                message = _(
                    "A confirmation link was sent to %(email)s. Your email address changes when you open it.",
                    email=changed["pending_email"],
                )
                visitor.flash(message, "info")
            else:
                visitor.flash(_("Your changes have been saved."), "success")
            return redirect("/edit_profile")
    return await render(visitor, "edit_profile.html", status=400, title=_("Edit Profile"), form=form)


@router.get("/confirm_email/{token}")
async def confirm_email_page(token: str, visitor: AnyVisitor):
    """Only a button: opening the link (or a mail scanner fetching it) changes nothing."""
    return await render(visitor, "confirm_email.html", title=_("Confirm Your Email Address"), token=token)


@router.post("/confirm_email/{token}", dependencies=[CSRF])
async def confirm_email(token: str, visitor: AnyVisitor):
    try:
        await visitor.gateway.confirm_email(visitor.caller, token[:1024])
    except Invalid as refused:
        if "different email" in refused.message:
            visitor.flash(_("This email address is now used by another account."), "danger")
        else:
            visitor.flash(_("The email confirmation link is invalid or has expired."), "danger")
        return redirect("/index")
    except RateLimited:
        visitor.flash(_("Too many attempts. Please wait a minute and try again."), "warning")
        return redirect(f"/confirm_email/{quote(token, safe='')}")
    visitor.flash(_("Your email address has been changed."), "success")
    return redirect("/edit_profile" if visitor.user_id else "/auth/login")


@router.post("/follow/{username}", dependencies=[CSRF])
async def follow(username: str, visitor: Member):
    return await _follow(visitor, username, following=True)


@router.post("/unfollow/{username}", dependencies=[CSRF])
async def unfollow(username: str, visitor: Member):
    return await _follow(visitor, username, following=False)


async def _follow(visitor: Visitor, username: str, following: bool):
    try:
        person = await find_user(visitor, username)
    except HTTPException:
        visitor.flash(_("User %(username)s not found.", username=username[:64]), "warning")
        return redirect("/index")
    if person["id"] == visitor.user_id:
        visitor.flash(_("You cannot follow yourself!") if following else _("You cannot unfollow yourself!"), "warning")
        return redirect(f"/user/{segment(person['username'])}")
    if following:
        await visitor.gateway.follow(visitor.caller, person["id"])
        visitor.flash(_("You are following %(username)s!", username=person["username"]), "success")
    else:
        await visitor.gateway.unfollow(visitor.caller, person["id"])
        visitor.flash(_("You are not following %(username)s.", username=person["username"]), "info")
    return redirect(f"/user/{segment(person['username'])}")


@router.post("/export_posts", dependencies=[CSRF])
async def export_posts(visitor: Member):
    _unread, tasks, _since = await current_notifications(visitor)
    if running_export(tasks):
        visitor.flash(_("An export task is currently in progress"), "warning")
    else:
        try:
            task = await visitor.gateway.export_posts(visitor.caller)
        except Conflict:
            visitor.flash(_("An export task is currently in progress"), "warning")
        else:
            visitor.session["watched_task"] = task["id"]
            visitor.flash(_("Exporting your posts: they will be emailed to you when the export is done."), "success")
    return redirect(f"/user/{segment(visitor.username or '')}")
