"""ASGI middleware of the web UI: the reader's language for the request, and security headers."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from web import i18n

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https://www.gravatar.com data:; "
        b"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]


class SecurityHeaders:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ReaderLocale:
    """Picks the locale (cookie `locale`, else Accept-Language) and sets it for the whole request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in (b"cookie", b"accept-language"):
                headers[name] = headers.get(name, "") + value.decode("latin-1") + ("; " if name == b"cookie" else "")
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get(b"cookie", ""))
        except CookieError:
            pass
        saved = cookies["locale"].value if "locale" in cookies else None
        locale = i18n.negotiate(saved, headers.get(b"accept-language"))
        scope.setdefault("state", {})["locale"] = locale
        token = i18n.current_locale.set(locale)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_locale.reset(token)
