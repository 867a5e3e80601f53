"""Limits on every write under /api: per account and per client address, with X-RateLimit headers.

Every POST, PUT, PATCH and DELETE under /api spends one write from its client address's budget
and, with a valid bearer token, one from its user's. Each budget is a fixed window (settings
`writes_per_account`, `writes_per_address`, `write_window_seconds`). Every answer to such a
request carries the tighter budget as `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (whole seconds until that window ends and the budget is whole again). A
write over either budget is answered 429 with `Retry-After` and goes no further.

Password guesses have their own, stricter limit: a password change, or a profile change whose
body carries a password, counts against `password_attempts_per_minute` per account and
`password_attempts_per_minute_per_address` per address (sliding minutes).

The counts live in this gateway process (each replica keeps its own).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.ratelimit import Budget, FixedWindow, RateLimiter, client_address
from gateway.sessions import RevokedSessions
from gateway.settings import GatewaySettings
from gateway.verified import VerifiedTokens
from microblog_shared.http.auth import InvalidAccessToken
from microblog_shared.http.errors import error_response

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PASSWORD_CHANGE = re.compile(r"^/api/users/[^/]+/password/?$")
PROFILE = re.compile(r"^/api/users/[^/]+/?$")


class WriteLimits:
    """ASGI middleware: counts, refuses and labels every write under /api (see the module)."""

    def __init__(
        self, app: ASGIApp, settings: GatewaySettings, revoked: RevokedSessions, tokens: VerifiedTokens
    ) -> None:
        self.app, self.settings, self.revoked, self.tokens = app, settings, revoked, tokens
        self.per_account = FixedWindow(settings.writes_per_account, settings.write_window_seconds)
        self.per_address = FixedWindow(settings.writes_per_address, settings.write_window_seconds)
        self.guesses_per_account = RateLimiter(settings.password_attempts_per_minute)
        self.guesses_per_address = RateLimiter(settings.password_attempts_per_minute_per_address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] not in WRITES or not (path == "/api" or path.startswith("/api/")):
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        address = client_address(request, self.settings.trusted_proxy_secret)
        account = self._account(request)
        budgets = [(self.per_address, f"address {address}")]
        if account is not None:
            budgets.insert(0, (self.per_account, f"user {account}"))

        exhausted = [b for b in (limiter.budget(key) for limiter, key in budgets) if b.remaining == 0]
        if exhausted:
            worst = max(exhausted, key=lambda b: b.reset)
            wait = max(worst.reset, 1)
            message = f"too many writes, try again in {wait} seconds"
            return await refuse(scope, receive, send, message, wait, worst)

        guesses: list[tuple[RateLimiter, str]] = []
        if await self._is_password_attempt(scope, request):
            guesses.append((self.guesses_per_address, address))
            if account is not None:
                guesses.append((self.guesses_per_account, f"user {account}"))
        waits = [w for w in (limiter.wait(key) for limiter, key in guesses) if w is not None]
        if waits:
            tightest = min((limiter.budget(key) for limiter, key in budgets), key=lambda b: b.remaining)
            message = f"too many password attempts, try again in {max(waits)} seconds"
            return await refuse(scope, receive, send, message, max(waits), tightest)

        for limiter, key in guesses:
            limiter.note(key)
        left = min((limiter.spend(key) for limiter, key in budgets), key=lambda b: b.remaining)
        headers = rate_headers(left)

        async def labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, _replay(request), labelled)

    def _account(self, request: Request) -> int | None:
        """The user of a valid, unrevoked bearer token; None for anybody else (the route answers 401)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            claims = self.tokens.claims(token.strip())
        except InvalidAccessToken:
            return None
        return None if self.revoked.is_revoked(claims.session_id) else claims.user_id

    @staticmethod
    async def _is_password_attempt(scope: Scope, request: Request) -> bool:
        """A password change, or a profile change whose JSON body has a field naming a password."""
        if scope["method"] == "POST" and PASSWORD_CHANGE.match(scope["path"]):
            return True
        if scope["method"] != "PUT" or not PROFILE.match(scope["path"]):
            return False
        try:
            body: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return False  # the route refuses it before any password is looked at
        return isinstance(body, dict) and any("password" in str(name).lower() for name in body)


def _replay(request: Request) -> Receive:
    """The request's body for the app, whether or not the middleware has read it already."""
    if not hasattr(request, "_body"):
        return request.receive

    async def replay() -> Message:
        return {"type": "http.request", "body": request._body, "more_body": False}

    return replay


def rate_headers(budget: Budget) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(budget.limit).encode()),
        (b"x-ratelimit-remaining", str(budget.remaining).encode()),
        (b"x-ratelimit-reset", str(budget.reset).encode()),
    ]


async def refuse(scope: Scope, receive: Receive, send: Send, message: str, wait: int, budget: Budget) -> None:
    headers = {name.decode(): value.decode() for name, value in rate_headers(budget)} | {"Retry-After": str(wait)}
    await error_response(429, message, headers)(scope, receive, send)


RATE_HEADERS = {
    "X-RateLimit-Limit": "Writes allowed per window (the tighter of the caller's account and address budgets)",
    "X-RateLimit-Remaining": "Writes left in the current window",
    "X-RateLimit-Reset": "Seconds until the current window ends and the whole budget is back",
}
RETRY_AFTER = "Seconds to wait before trying again"


def document(app: FastAPI) -> None:
    """Declare the limits in the OpenAPI document: every write under /api may answer 429, and
    every answer of one that passes through the middleware carries the three X-RateLimit headers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = generate()
        if fresh:
            _declare_limits(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "integer", "minimum": 0}}


def _declare_limits(schema: dict[str, Any]) -> None:
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method.upper() not in WRITES:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "429",
                {
                    "description": "Too many writes, or password attempts; Retry-After says when to try again",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            )
            for code, response in responses.items():
                # A 413 is answered before the limits are counted; a 500 is a crash, answered outside.
                if code in ("413", "500"):
                    continue
                headers = response.setdefault("headers", {})
                headers.update({name: _header(text) for name, text in RATE_HEADERS.items()})
                if code == "429":
                    headers["Retry-After"] = _header(RETRY_AFTER)
