"""Error pages in the site's style, or JSON `{"error", "message"}` when the client prefers JSON."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from web import gateway
from web.i18n import _, ngettext
from web.pages import CSRFFailed, LoginRequired, login_redirect, render
from web.pages import visitor as make_visitor
from web.session import flash

JSON_PATHS = ("/translate", "/notifications")

log = logging.getLogger(__name__)


def _quality(accept: str, media_type: str) -> float:
    best = 0.0
    for part in accept.split(","):
        kind, _sep, params = part.strip().partition(";")
        if kind.strip().lower() == media_type:
            try:
                best = max(best, float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0)
            except ValueError:
                pass
    return best


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON at least as much as for HTML (explicitly: */* means HTML)."""
    accept = request.headers.get("accept", "")
    json_quality = _quality(accept, "application/json")
    return json_quality > 0 and json_quality >= _quality(accept, "text/html")


async def error_page(request: Request, status: int, message: str | None = None) -> Response:
    if wants_json(request) or request.url.path in JSON_PATHS:
        body = {"error": HTTPStatus(status).phrase}
        if message:
            body["message"] = message
        return JSONResponse(body, status_code=status)
    template = {404: "errors/404.html", 500: "errors/500.html", 503: "errors/503.html"}.get(status, "errors/error.html")
    visitor = await make_visitor(request)
    titles = {404: _("File Not Found"), 500: _("An unexpected error has occurred"), 503: _("Service unavailable")}
    context: dict[str, Any] = {"status_code": status, "message": message, "title": titles.get(status, _("Error"))}
    try:
        return await render(visitor, template, status=status, **context)
    except Exception:  # the gateway is down too, or the session is stale: a page without the badge
        return await render(visitor, template, status=status, with_notifications=False, **context)


class CrashPage:
    """Innermost: an unhandled error becomes the 500 page inside the session, locale and headers."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
            request = Request(scope, receive)
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            response = await error_page(request, 500)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if wants_json(request) or request.url.path in JSON_PATHS:
            return JSONResponse(
                {"error": "Unauthorized", "message": _("Please log in to access this page.")}, status_code=401
            )
        flash(request.scope["session"], _("Please log in to access this page."), "info")
        return login_redirect(exc.next_path)

    @app.exception_handler(CSRFFailed)
    async def csrf_failed(request: Request, exc: CSRFFailed):
        return await error_page(
            request, 400, _("The form has expired or its security token is missing. Reload the page and try again.")
        )

    @app.exception_handler(gateway.Unauthorized)
    async def unauthorized(request: Request, exc: gateway.Unauthorized):
        session = request.scope["session"]
        session.sign_out()
        url = request.url
        here = url.path + (f"?{url.query}" if url.query else "") if request.method == "GET" else "/index"
        return await login_required(request, LoginRequired(here))

    @app.exception_handler(gateway.Unavailable)
    async def unavailable(request: Request, exc: gateway.Unavailable):
        return await error_page(request, 503, _("The service is temporarily unavailable. Please try again shortly."))

    @app.exception_handler(gateway.RateLimited)
    async def rate_limited(request: Request, exc: gateway.RateLimited):
        seconds = max(exc.retry_after, 1)
        message = ngettext(
            "Too many requests, try again in %(num)d second.",
            "Too many requests, try again in %(num)d seconds.",
            seconds,
        ) % {"num": seconds}
        page = await error_page(request, 429, message)
        page.headers["Retry-After"] = str(seconds)
        return page

    @app.exception_handler(gateway.GatewayError)
    async def gateway_error(request: Request, exc: gateway.GatewayError):
        if exc.status in (400, 403, 404, 409):
            return await error_page(request, exc.status, exc.message or None)
        log.error("the gateway answered %s on %s %s: %s", exc.status, request.method, request.url.path, exc.message)
        return await error_page(request, 500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = (
            exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else None
        )
        return await error_page(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return await error_page(request, 400, _("The request is not valid."))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return await error_page(request, 500)
