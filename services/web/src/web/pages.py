"""What every page shares: the visitor (session, locale, zone, gateway caller), login, rendering."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape

from microblog_shared.http.paths import segment
from web import i18n
from web.badge import BadgeCache
from web.fragments import PostFragments
from web.gateway import Caller, Gateway, Unauthorized
from web.session import CSRF_FIELD, CSRF_HEADER, Session, csrf_token, csrf_valid, flash, pop_flashes
from web.tokens import Refresher, needs_refresh

GRAVATAR = re.compile(r"/avatar/([0-9a-f]{32})")
T = TypeVar("T")
Badge = tuple[int, list[dict], float]  # unread count, exports to show, newest notification's time


class LoginRequired(Exception):
    """The visitor must sign in (again) to see this; they come back to `next` afterwards."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class CSRFFailed(Exception):
    pass


class SessionCaller(Caller):
    """A gateway caller whose consistency tokens (the newest per stream) are kept in the session across requests."""

    def __init__(self, session: Session, client_address: str) -> None:
        self.session = session
        self.client_address = client_address
        self.token = session.get("token")

    @property
    def consistency(self) -> str | None:
        return self.session.get("consistency")

    @consistency.setter
    def consistency(self, value: str | None) -> None:
        if value and value != self.session.get("consistency"):
            self.session["consistency"] = value


@dataclass
class Visitor:
    request: Request
    session: Session
    caller: SessionCaller
    locale: str
    timezone: str
    badge: Badge | None = None  # asked for alongside the page's data (alongside_badge), for render

    @property
    def gateway(self) -> Gateway:
        return self.request.app.state.gateway

    @property
    def badges(self) -> BadgeCache:
        return self.request.app.state.badges

    @property
    def user_id(self) -> int | None:
        return self.session.user_id

    @property
    def username(self) -> str | None:
        return self.session.username

    def flash(self, message: str, category: str = "info") -> None:
        flash(self.session, message, category)

    def here(self) -> str:
        url = self.request.url
        return url.path + (f"?{url.query}" if url.query else "")

    def login_required(self) -> LoginRequired:
        # After signing in, come back here; a form's target can't be revisited with GET.
        return LoginRequired(self.here() if self.request.method == "GET" else "/index")

    def signed_out(self) -> LoginRequired:
        """The gateway no longer accepts the session's tokens: forget them, ask for a login."""
        self.session.sign_out()
        self.caller.token = None
        return self.login_required()


async def visitor(request: Request) -> Visitor:
    session: Session = request.scope["session"]
    address = request.client.host if request.client else "127.0.0.1"
    return Visitor(
        request,
        session,
        SessionCaller(session, address),
        request.state.locale,
        i18n.time_zone(unquote(request.cookies.get("tz") or "")),
    )


async def signed_in(visitor: Annotated[Visitor, Depends(visitor)]) -> Visitor:
    """The visitor, who must be signed in with an access token that won't expire mid-request."""
    if not visitor.user_id or not visitor.session.get("token"):
        raise visitor.login_required()
    session = visitor.session
    if needs_refresh(session["token"]):
        refresher: Refresher = visitor.request.app.state.refresher
        try:
            tokens = await refresher.refresh(session.get("refresh_token", ""), visitor.caller.client_address)
        except Unauthorized:
            raise visitor.signed_out() from None
        session["token"], session["refresh_token"] = tokens["token"], tokens["refresh_token"]
        visitor.caller.token = tokens["token"]
    return visitor


async def csrf_checked(request: Request, visitor: Annotated[Visitor, Depends(visitor)]) -> None:
    """Refuses a state-changing request without the session's CSRF token (form field or header)."""
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not csrf_valid(visitor.session, given):
        raise CSRFFailed()


AnyVisitor = Annotated[Visitor, Depends(visitor)]
Member = Annotated[Visitor, Depends(signed_in)]
CSRF = Depends(csrf_checked)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def login_redirect(next_path: str) -> RedirectResponse:
    return redirect(f"/auth/login?next={quote(next_path, safe='/')}")


# --- rendering ------------------------------------------------------------------------------


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("web", "templates"),
        auto_reload=False,  # the templates ship with the package: no stat of each file on every page
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # jinja2.ext.i18n adds this method at runtime; Environment's annotations cannot know it.
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        fromnow=_fromnow, fulldate=_fulldate, avatar=avatar_url, identicon=identicon_url, segment=segment
    )
    env.globals.update(
        language_names=i18n.LANGUAGE_NAMES,
        same_language=i18n.same_language,
        html_lang=i18n.html_lang,
        rendered_posts=PostFragments().in_template,
    )
    return env


@pass_context
def _fromnow(context, value: str | None) -> str:
    moment = i18n.parse_moment(value)
    return i18n.relative_time(moment) if moment else ""


@pass_context
def _fulldate(context, value: str | None) -> str:
    moment = i18n.parse_moment(value)
    return i18n.full_datetime(moment, context.get("timezone", "UTC")) if moment else ""


def avatar_url(url: str | None, size: int) -> str:
    """The API's Gravatar URL at another size."""
    if not url:
        return identicon_url(url, size)
    return re.sub(r"([?&])s=\d+", rf"\g<1>s={size}", url)


def identicon_url(url: str | None, size: int) -> str:
    """Our own identicon for the same hash, for when Gravatar can't load."""
    match = GRAVATAR.search(url or "")
    digest = match.group(1) if match else "0" * 32
    return f"/identicon/{digest}.svg?s={size}"


async def render(
    visitor: Visitor,
    template: str,
    status: int = 200,
    with_notifications: bool = True,
    unread_count: int | None = None,
    **context: Any,
) -> HTMLResponse:
    tasks: list[dict] = []
    unread, since = 0, 0.0
    if with_notifications and visitor.user_id and visitor.session.get("token"):
        if unread_count is None:
            unread, tasks, since = visitor.badge or await badge_and_tasks(visitor)
        else:  # the page knows the count better (the inbox, just read): remember it with what else is new
            unread, tasks, since = await current_notifications(visitor)
            if not tasks:
                mark = visitor.badges.reset_mark(visitor.session["token"], unread_count, since)
                if visitor.badges.seconds > 0:
                    visitor.session["badge_reset"] = mark
    unread = unread if unread_count is None else unread_count
    settings = visitor.request.app.state.settings
    page = visitor.request.app.state.templates.get_template(template).render(
        visitor=visitor,
        locale=visitor.locale,
        timezone=visitor.timezone,
        csrf_token=csrf_token(visitor.session),
        flashes=pop_flashes(visitor.session),
        unread_count=unread,
        running_tasks=tasks,
        since=since,
        poll_seconds=settings.notification_poll_seconds,
        current_path=visitor.here(),
        **context,
    )
    return HTMLResponse(page, status_code=status)


async def alongside_badge(visitor: Visitor, data: Awaitable[T]) -> T:
    """The page's data, while the badge is asked for at the same time when it isn't remembered.

    The two are independent trips through the gateway: one after the other, a page waited for
    both. The badge goes to `visitor.badge` for `render`; when the data fails, the badge's call
    is dropped (the error page asks again), so errors come out as they did one after the other.
    """
    if not visitor.user_id or not visitor.session.get("token") or remembered_badge(visitor) is not None:
        return await data
    badge = asyncio.ensure_future(badge_and_tasks(visitor))
    try:
        result = await data
    except BaseException:
        await dropped(badge)
        raise
    visitor.badge = await badge
    return result


async def dropped(call: asyncio.Future) -> None:
    """Cancel a call made alongside another whose answer makes it moot, and wait until it has stopped."""
    call.cancel()
    await asyncio.wait([call])  # its own outcome is not ours to raise; a cancellation of this task still is
    if not call.cancelled():
        call.exception()  # seen: asyncio would log an error it thinks nobody looked at


def remembered_badge(visitor: Visitor) -> Badge | None:
    """The session's badge as this process learnt it recently, unless an export is watched."""
    if "watched_task" in visitor.session:
        return None
    known = visitor.badges.get(visitor.session["token"], visitor.session.get("badge_reset"))
    return None if known is None else (known.unread, [], known.since)


async def badge_and_tasks(visitor: Visitor) -> Badge:
    """The unread count, the exports to show and the newest notification's time, remembered briefly (badge.py)."""
    token = visitor.session["token"]
    known = remembered_badge(visitor)
    if known is not None:
        return known
    unread, tasks, since = await current_notifications(visitor)
    if tasks:
        visitor.badges.forget(token)
    else:
        visitor.badges.put(token, unread, since)
    return unread, tasks, since


async def current_notifications(visitor: Visitor) -> tuple[int, list[dict], float]:
    """The unread count and the exports still running, from the caller's current notifications."""
    try:
        rows = await visitor.gateway.notifications(visitor.caller, 0.0)
    except Unauthorized:
        raise visitor.signed_out() from None
    unread, tasks, newest = 0, [], 0.0
    for row in rows:
        newest = max(newest, float(row.get("timestamp") or 0))
        if row.get("name") == "unread_message_count" and isinstance(row.get("data"), int):
            unread = row["data"]
        elif row.get("name") == "task_progress" and isinstance(row.get("data"), dict):
            progress = int(row["data"].get("progress", 100))
            # A task just started here shows once even if it finished before this page rendered.
            if progress < 100 or row["data"].get("task_id") == visitor.session.get("watched_task"):
                tasks.append(row["data"])
                if progress >= 100:
                    visitor.session.pop("watched_task", None)
    return unread, tasks, newest


def running_export(tasks: list[dict]) -> bool:
    """An export is running while its current task_progress is below 100."""
    return any(int(task.get("progress", 100)) < 100 for task in tasks)
