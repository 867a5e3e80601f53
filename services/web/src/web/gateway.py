"""A typed async client of the gateway's public API: one method per call, typed errors.

Every call carries the browser's address (X-Forwarded-For with the proxy secret), the
request's correlation id, the caller's access token and the consistency tokens of their latest
writes (one per stream, newest first, at most MAX_TOKENS, comma-separated); a write's answer adds
its token, so the next read waits for that write and the ones before it (a post, then a follow).

aiohttp rather than httpx, as in the gateway: under the home-page load httpx's connection pool
took about 39 % of the web's CPU on bookkeeping. One session per process, made on first use
(a session belongs to the running event loop), keep-alive connections to the gateway.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy
from yarl import URL

from microblog_shared.http.paths import segment
from microblog_shared.read.consistency import remember
from microblog_shared.runtime import context

log = logging.getLogger(__name__)

CONSISTENCY_HEADER = "X-Consistency-Token"
Json = dict[str, Any]


@dataclass
class Caller:
    """On whose behalf a call is made."""

    client_address: str
    token: str | None = None
    consistency: str | None = None


class GatewayError(Exception):
    status = 500

    def __init__(self, message: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class Invalid(GatewayError):
    status = 400


class Unauthorized(GatewayError):
    status = 401


class Forbidden(GatewayError):
    status = 403


class NotFound(GatewayError):
    status = 404


class Conflict(GatewayError):
    status = 409


class RateLimited(GatewayError):
    """Too many writes or attempts: `retry_after` is the gateway's Retry-After, in seconds."""

    status = 429

    def __init__(self, message: str = "", status: int | None = None, retry_after: int = 60) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class Unavailable(GatewayError):
    """The gateway can't be reached, or a service behind it is down."""

    status = 503


ERRORS: dict[int, type[GatewayError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Invalid,
}


def basic_auth(username: str, password: str) -> str:
    """HTTP Basic credentials, UTF-8 (aiohttp's BasicAuth would refuse a ':' in the name before the gateway could)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class Answer:
    """The gateway's whole answer, read before its connection went back to the pool."""

    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


def _raise_for(response: Answer) -> None:
    if response.status_code < 400:
        return
    try:
        message = response.json().get("message") or ""
    except ValueError:
        message = ""
    if response.status_code == 429:
        retry = response.headers.get("Retry-After", "")
        raise RateLimited(message, 429, int(retry) if retry.isdigit() else 60)
    kind = ERRORS.get(response.status_code)
    if kind is None:
        kind = Unavailable if response.status_code in (502, 503, 504) else GatewayError
    raise kind(message, response.status_code)


class Gateway:
    def __init__(self, base_url: str, proxy_secret: str = "", timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.proxy_secret = proxy_secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on first use: a session belongs to the running event loop
            connector = aiohttp.TCPConnector(limit=100, limit_per_host=100, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                self.base_url,
                connector=connector,
                timeout=self.timeout,
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs) -> Answer:
        # encoded=True: the path goes as built (with microblog_shared.http.paths.segment), not re-normalised.
        async with self.session.request(method, URL(path, encoded=True), headers=headers, **kwargs) as answer:
            return Answer(answer.status, answer.headers, await answer.read())

    async def _call(
        self, method: str, path: str, caller: Caller, *, auth: tuple[str, str] | None = None, **kwargs
    ) -> Answer:
        headers = {"X-Forwarded-For": caller.client_address, "X-Correlation-ID": context.correlation_id.get() or ""}
        if self.proxy_secret:
            headers["X-Microblog-Proxy-Secret"] = self.proxy_secret
        if auth is not None:
            headers["Authorization"] = basic_auth(*auth)
        elif caller.token:
            headers["Authorization"] = f"Bearer {caller.token}"
        if caller.consistency:
            headers[CONSISTENCY_HEADER] = caller.consistency
        try:
            response = await self._send(method, path, headers, **kwargs)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("the gateway is unavailable: %r", exc)
            raise Unavailable("the gateway is unavailable") from None
        _raise_for(response)
        if CONSISTENCY_HEADER in response.headers:
            caller.consistency = remember(caller.consistency, response.headers[CONSISTENCY_HEADER])
        return response

    async def ready(self) -> None:
        try:
            response = await self._send("GET", "/readyz", timeout=aiohttp.ClientTimeout(total=2.0))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RuntimeError(f"the gateway is unreachable: {exc!r}") from None
        if response.status_code != 200:
            raise RuntimeError(f"the gateway is not ready ({response.status_code})")

    # --- tokens --------------------------------------------------------------------------

    async def create_tokens(self, caller: Caller, username: str, password: str) -> Json:
        return (await self._call("POST", "/api/tokens", caller, auth=(username, password))).json()

    async def refresh_tokens(self, caller: Caller, refresh_token: str) -> Json:
        return (await self._call("PUT", "/api/tokens", caller, json={"refresh_token": refresh_token})).json()

    async def revoke_tokens(self, caller: Caller) -> None:
        await self._call("DELETE", "/api/tokens", caller)

    # --- accounts ------------------------------------------------------------------------

    async def register(self, caller: Caller, username: str, email: str, password: str) -> Json:
        body = {"username": username, "email": email, "password": password}
        return (await self._call("POST", "/api/users", caller, json=body)).json()

    async def me(self, caller: Caller) -> Json:
        return (await self._call("GET", "/api/me", caller)).json()

    async def user_by_name(self, caller: Caller, username: str) -> Json:
        return (await self._call("GET", f"/api/users/by-name/{segment(username)}", caller)).json()

    async def user(self, caller: Caller, user_id: int) -> Json:
        return (await self._call("GET", f"/api/users/{user_id}", caller)).json()

    async def update_user(self, caller: Caller, user_id: int, **changes: str) -> Json:
        return (await self._call("PUT", f"/api/users/{user_id}", caller, json=changes)).json()

    async def confirm_email(self, caller: Caller, token: str) -> None:
        await self._call("POST", "/api/email_confirmation", caller, json={"token": token})

    async def request_password_reset(self, caller: Caller, email: str) -> None:
        await self._call("POST", "/api/reset_password_request", caller, json={"email": email})

    async def reset_password(self, caller: Caller, token: str, password: str) -> None:
        await self._call("POST", "/api/reset_password", caller, json={"token": token, "password": password})

    # --- follows -------------------------------------------------------------------------

    async def follow(self, caller: Caller, user_id: int) -> None:
        await self._call("POST", f"/api/users/{user_id}/follow", caller)

    async def unfollow(self, caller: Caller, user_id: int) -> None:
        await self._call("DELETE", f"/api/users/{user_id}/follow", caller)

    # --- posts ---------------------------------------------------------------------------

    async def create_post(self, caller: Caller, body: str) -> Json:
        return (await self._call("POST", "/api/posts", caller, json={"body": body})).json()

    async def home_timeline(self, caller: Caller, page: int, per_page: int) -> Json:
        return await self._page("/api/timeline", caller, page, per_page)

    async def explore(self, caller: Caller, page: int, per_page: int) -> Json:
        return await self._page("/api/explore", caller, page, per_page)

    async def user_posts(self, caller: Caller, user_id: int, page: int, per_page: int) -> Json:
        return await self._page(f"/api/users/{user_id}/posts", caller, page, per_page)

    async def search(self, caller: Caller, q: str, page: int, per_page: int) -> Json:
        return await self._page("/api/search", caller, page, per_page, q=q)

    async def _page(self, path: str, caller: Caller, page: int, per_page: int, **query: str) -> Json:
        params = {**query, "page": page, "per_page": per_page}
        return (await self._call("GET", path, caller, params=params)).json()

    # --- messages, notifications, tasks, translation ---------------------------------------

    async def send_message(self, caller: Caller, user_id: int, body: str) -> Json:
        return (await self._call("POST", f"/api/users/{user_id}/messages", caller, json={"body": body})).json()

    async def messages(self, caller: Caller, page: int, per_page: int) -> Json:
        return await self._page("/api/messages", caller, page, per_page)

    async def notifications(self, caller: Caller, since: float) -> list[Json]:
        return (await self._call("GET", "/api/notifications", caller, params={"since": repr(since)})).json()

    async def export_posts(self, caller: Caller) -> Json:
        return (await self._call("POST", "/api/exports", caller)).json()

    async def translate(self, caller: Caller, text: str, source: str, dest: str) -> str:
        body = {"text": text, "source_language": source, "dest_language": dest}
        return (await self._call("POST", "/api/translate", caller, json=body)).json()["text"]
