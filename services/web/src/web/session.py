"""The browser's session: a signed cookie (itsdangerous) with the tokens, CSRF and flashes.

The cookie is HttpOnly and SameSite=Lax (Secure when configured); "remember me" makes it
persistent for the refresh token's life, otherwise it ends with the browser session.
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "session"
LIFETIME_SECONDS = 7 * 24 * 3600  # the refresh token's life
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class Session(dict):
    """The session's values; `modified` tells the middleware to send the cookie again."""

    def __init__(self, values: dict | None = None) -> None:
        super().__init__(values or {})
        self.modified = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.modified = True
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.modified = True
        return super().pop(key, *default)

    def clear(self) -> None:
        self.modified = True
        super().clear()

    def update(self, *args, **kwargs) -> None:
        self.modified = True
        super().update(*args, **kwargs)

    @property
    def user_id(self) -> int | None:
        return self.get("user_id")

    @property
    def username(self) -> str | None:
        return self.get("username")

    def sign_in(self, user_id: int, username: str, token: str, refresh_token: str, remember: bool) -> None:
        kept = {k: self[k] for k in ("consistency", "flashes") if k in self}
        self.clear()  # a fresh session on sign-in, with a new CSRF token: only consistency and flashes carry over
        self.update(
            user_id=user_id, username=username, token=token, refresh_token=refresh_token, remember=remember, **kept
        )

    def sign_out(self) -> None:
        flashes = self.get("flashes")
        self.clear()
        if flashes:
            self["flashes"] = flashes


class SessionCodec:
    """Signs sessions into cookie values and reads them back (None when forged or too old)."""

    def __init__(self, secret: str, max_age: int = LIFETIME_SECONDS) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="microblog-web-session")
        self.max_age = max_age

    def dumps(self, session: dict) -> str:
        return self.serializer.dumps(dict(session))

    def loads(self, value: str | None) -> Session:
        if not value:
            return Session()
        try:
            values = self.serializer.loads(value, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return Session()
        return Session(values if isinstance(values, dict) else {})

    def set_cookie_header(self, session: Session, secure: bool) -> str:
        cookie = SimpleCookie()
        if session:
            cookie[COOKIE] = self.dumps(session)
            if session.get("remember"):
                cookie[COOKIE]["max-age"] = self.max_age
        else:
            cookie[COOKIE] = ""
            cookie[COOKIE]["max-age"] = 0
        morsel = cookie[COOKIE]
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "Lax"
        if secure:
            morsel["secure"] = True
        return morsel.OutputString()


def csrf_token(session: Session) -> str:
    """The session's CSRF token, made on first use."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def csrf_valid(session: Session, given: str | None) -> bool:
    expected = session.get(CSRF_FIELD)
    return bool(expected and given) and hmac.compare_digest(str(expected).encode(), str(given).encode())


def flash(session: Session, message: str, category: str = "info") -> None:
    session["flashes"] = [*session.get("flashes", []), [category, str(message)]]


def pop_flashes(session: Session) -> list[tuple[str, str]]:
    return [(category, message) for category, message in session.pop("flashes", [])]


class SessionMiddleware:
    """Loads the session from its cookie into scope["session"]; sends it back when changed."""

    def __init__(self, app, codec: SessionCodec, secure: bool) -> None:
        self.app, self.codec, self.secure = app, codec, secure

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = b""
        for name, value in scope["headers"]:
            if name == b"cookie":
                raw += value + b"; "
        cookies = SimpleCookie()
        try:
            cookies.load(raw.decode("latin-1"))
        except Exception:  # a malformed Cookie header is the browser's problem, not a crash
            cookies = SimpleCookie()
        had_cookie = COOKIE in cookies
        session = self.codec.loads(cookies[COOKIE].value if had_cookie else None)
        scope["session"] = session

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start" and session.modified and (session or had_cookie):
                header = self.codec.set_cookie_header(session, self.secure)
                message["headers"] = [*message.get("headers", ()), (b"set-cookie", header.encode("latin-1"))]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
