"""Signing in and out, registering, and resetting a forgotten password (under /auth/)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request

from web import forms
from web.gateway import Invalid, RateLimited, Unauthorized, Unavailable
from web.i18n import _
from web.pages import CSRF, AnyVisitor, redirect, render
from web.urls import safe_next

router = APIRouter(prefix="/auth")


def _too_many(visitor) -> None:
    visitor.flash(_("Too many attempts. Please wait a minute and try again."), "warning")


@router.get("/login")
async def login_page(visitor: AnyVisitor, next: str = ""):
    if visitor.user_id:
        return redirect("/index")
    return await render(visitor, "auth/login.html", title=_("Sign In"), form=forms.Form(), next=safe_next(next, ""))


@router.post("/login", dependencies=[CSRF])
async def login(request: Request, visitor: AnyVisitor):
    if visitor.user_id:
        return redirect("/index")
    raw = await request.form()
    form = forms.login_form(raw)
    given_next = raw.get("next")
    next_path = safe_next(given_next if isinstance(given_next, str) else None, "")
    if form.valid:
        try:
            tokens = await visitor.gateway.create_tokens(visitor.caller, form.data["username"], form.data["password"])
            visitor.caller.token = tokens["token"]
            me = await visitor.gateway.me(visitor.caller)
        except Unauthorized:
            visitor.flash(_("Invalid username or password"), "danger")
            return await render(visitor, "auth/login.html", status=401, title=_("Sign In"), form=form, next=next_path)
        except RateLimited:
            _too_many(visitor)
            return await render(visitor, "auth/login.html", status=429, title=_("Sign In"), form=form, next=next_path)
        visitor.session.sign_in(
            me["id"], me["username"], tokens["token"], tokens["refresh_token"], remember=bool(form.data["remember_me"])
        )
        return redirect(next_path or "/index")
    if "username" in form.errors and form.errors["username"] == _("Invalid username or password"):
        visitor.flash(_("Invalid username or password"), "danger")
    return await render(visitor, "auth/login.html", status=400, title=_("Sign In"), form=form, next=next_path)


@router.post("/logout", dependencies=[CSRF])
async def logout(visitor: AnyVisitor):
    if visitor.session.get("token"):
        try:
            await visitor.gateway.revoke_tokens(visitor.caller)
        except (Unauthorized, Unavailable, RateLimited):
            pass  # the session is forgotten here either way
    visitor.session.sign_out()
    return redirect("/index")


@router.get("/register")
async def register_page(visitor: AnyVisitor):
    if visitor.user_id:
        return redirect("/index")
    return await render(visitor, "auth/register.html", title=_("Register"), form=forms.Form())


@router.post("/register", dependencies=[CSRF])
async def register(request: Request, visitor: AnyVisitor):
    if visitor.user_id:
        return redirect("/index")
    form = forms.registration_form(await request.form())
    if form.valid:
        try:
            await visitor.gateway.register(
                visitor.caller, form.data["username"], form.data["email"], form.data["password"]
            )
        except Invalid as refused:
            _field_errors_from(form, refused.message)
        except RateLimited:
            _too_many(visitor)
            return await render(visitor, "auth/register.html", status=429, title=_("Register"), form=form)
        else:
            visitor.flash(_("Congratulations, you are now a registered user!"), "success")
            return redirect("/auth/login")
    return await render(visitor, "auth/register.html", status=400, title=_("Register"), form=form)


def _field_errors_from(form: forms.Form, message: str) -> None:
    """The gateway's refusal as field errors (taken names first: they are the usual reason)."""
    if "different username" in message:
        form.error("username", _("Please use a different username."))
    elif "different email" in message:
        form.error("email", _("Please use a different email address."))
    elif "email" in message:
        form.error("email", _("Enter a valid email address."))
    elif "password" in message:
        form.error("password", _("Choose another password."))
    else:
        form.error("username", _("Please check what you entered."))


@router.get("/reset_password_request")
async def reset_request_page(visitor: AnyVisitor):
    if visitor.user_id:
        return redirect("/index")
    return await render(visitor, "auth/reset_password_request.html", title=_("Reset Password"), form=forms.Form())


@router.post("/reset_password_request", dependencies=[CSRF])
async def reset_request(request: Request, visitor: AnyVisitor):
    if visitor.user_id:
        return redirect("/index")
    form = forms.reset_request_form(await request.form())
    if not form.valid:
        return await render(
            visitor, "auth/reset_password_request.html", status=400, title=_("Reset Password"), form=form
        )
    try:
        await visitor.gateway.request_password_reset(visitor.caller, form.data["email"])
    except Invalid:
        pass  # the same answer whatever the address: nobody learns who has an account
    except RateLimited:
        _too_many(visitor)
        return redirect("/auth/reset_password_request")
    visitor.flash(_("Check your email for the instructions to reset your password"), "info")
    return redirect("/auth/login")


@router.get("/reset_password/{token}")
async def reset_page(token: str, visitor: AnyVisitor):
    if visitor.user_id:
        return redirect("/index")
    return await render(
        visitor, "auth/reset_password.html", title=_("Reset Your Password"), form=forms.Form(), token=token
    )


@router.post("/reset_password/{token}", dependencies=[CSRF])
async def reset(token: str, request: Request, visitor: AnyVisitor):
    if visitor.user_id:
        return redirect("/index")
    form = forms.reset_password_form(await request.form())
    if not form.valid:
        return await render(
            visitor, "auth/reset_password.html", status=400, title=_("Reset Your Password"), form=form, token=token
        )
    try:
        await visitor.gateway.reset_password(visitor.caller, token[:1024], form.data["password"])
    except Invalid:
        visitor.flash(_("The password reset link is invalid or has expired."), "danger")
        return redirect("/index")
    except RateLimited:
        _too_many(visitor)
        return redirect(f"/auth/reset_password/{quote(token, safe='')}")
    visitor.flash(_("Your password has been reset."), "success")
    return redirect("/auth/login")
