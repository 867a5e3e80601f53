"""Home, Explore, search, the language switch, and the JSON endpoints the page script calls."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from web import forms
from web.deps import Settings
from web.gateway import Invalid, Unavailable
from web.i18n import LOCALES, _, html_lang
from web.pages import CSRF, AnyVisitor, Member, Visitor, alongside_badge, redirect, render
from web.settings import WebSettings
from web.urls import page_number, safe_next

router = APIRouter()
LOCALE_COOKIE_SECONDS = 365 * 24 * 3600


def page_of(request: Request) -> int:
    page = page_number(request.query_params.get("page"))
    if page is None:
        raise HTTPException(400, _("The page number is not valid."))
    return page


def pager(collection: dict, page: int) -> dict:
    """Which neighbouring pages exist, for the newer/older links."""
    total = collection.get("_meta", {}).get("total_pages", 0)
    return {"page": page, "has_prev": page > 1, "has_next": page < total}


async def _home(visitor: Visitor, request: Request, settings: WebSettings, form: forms.Form, status: int = 200):
    page = page_of(request)
    posts = await alongside_badge(visitor, visitor.gateway.home_timeline(visitor.caller, page, settings.posts_per_page))
    return await render(
        visitor,
        "index.html",
        status=status,
        title=_("Home"),
        form=form,
        posts=posts["items"],
        pages=pager(posts, page),
        base_path=request.url.path,
    )


@router.get("/")
@router.get("/index")
async def index(request: Request, visitor: Member, settings: Settings):
    return await _home(visitor, request, settings, forms.Form())


@router.post("/", dependencies=[CSRF])
@router.post("/index", dependencies=[CSRF])
async def write_post(request: Request, visitor: Member, settings: Settings):
    form = forms.post_form(await request.form())
    if form.valid:
        try:
            await visitor.gateway.create_post(visitor.caller, form.data["post"])
        except Invalid as refused:
            form.error("post", refused.message or _("Please check what you entered."))
        else:
            visitor.flash(_("Your post is now live!"), "success")
            return redirect("/index")
    return await _home(visitor, request, settings, form, status=400)


@router.get("/explore")
async def explore(request: Request, visitor: Member, settings: Settings):
    page = page_of(request)
    posts = await alongside_badge(visitor, visitor.gateway.explore(visitor.caller, page, settings.posts_per_page))
    return await render(
        visitor,
        "index.html",
        title=_("Explore"),
        form=None,
        posts=posts["items"],
        pages=pager(posts, page),
        base_path="/explore",
    )


@router.get("/search")
async def search(request: Request, visitor: Member, settings: Settings, q: str = Query(default="", max_length=200)):
    page = page_of(request)
    q = q.strip()
    if not q:
        return redirect("/explore")
    results = await alongside_badge(visitor, visitor.gateway.search(visitor.caller, q, page, settings.posts_per_page))
    return await render(
        visitor,
        "search.html",
        title=_("Search"),
        q=q,
        posts=results["items"],
        total=results["_meta"].get("total_items", 0),
        pages=pager(results, page),
    )


@router.post("/language", dependencies=[CSRF])
async def choose_language(request: Request, visitor: AnyVisitor, settings: Settings):
    form = await request.form()
    locale = form.get("locale")
    back = form.get("next")
    response = redirect(safe_next(back if isinstance(back, str) else None, "/index"))
    if isinstance(locale, str) and locale in LOCALES:
        response.set_cookie(
            "locale",
            locale,
            max_age=LOCALE_COOKIE_SECONDS,
            path="/",
            samesite="lax",
            secure=bool(settings.secure_cookies),
        )
    return response


@router.get("/notifications")
async def notifications(visitor: Member, since: str = Query(default="0", max_length=40)):
    try:
        moment = float(since)
    except ValueError:
        moment = math.nan
    if not math.isfinite(moment) or moment < 0:
        return JSONResponse(
            {"error": "Bad Request", "message": _("since must be a number of seconds")}, status_code=400
        )
    rows = await visitor.gateway.notifications(visitor.caller, moment)
    visitor.badges.heard(visitor.session["token"], rows)  # the pages' badge stays as current as the polling
    return rows


@router.post("/translate", dependencies=[CSRF])
async def translate(request: Request, visitor: Member):
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k, ""), str) for k in ("text", "source_language", "dest_language")
    ):
        return JSONResponse(
            {"error": "Bad Request", "message": _("Send text, source_language and dest_language.")}, status_code=400
        )
    dest = body.get("dest_language") or html_lang(visitor.locale)
    try:
        text = await visitor.gateway.translate(
            visitor.caller, body.get("text", ""), body.get("source_language", ""), dest
        )
    except Unavailable as unavailable:
        message = (
            _("Translation is not configured on this server.")
            if "not configured" in unavailable.message
            else _("The translation service is unavailable right now. Please try again later.")
        )
        return JSONResponse({"error": "Service Unavailable", "message": message}, status_code=503)
    except Invalid:
        return JSONResponse({"error": "Bad Request", "message": _("This text can't be translated.")}, status_code=400)
    return {"text": text}
