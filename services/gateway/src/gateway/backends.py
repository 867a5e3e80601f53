"""The services behind the gateway, and how a call to one becomes the public response."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
import orjson
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response
from multidict import CIMultiDictProxy
from yarl import URL

from microblog_shared.http.app import CORRELATION_HEADER
from microblog_shared.http.auth import AccessClaims, caller_headers
from microblog_shared.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from microblog_shared.read.consistency import HEADER as CONSISTENCY_HEADER
from microblog_shared.runtime import context

log = logging.getLogger(__name__)

# Headers a backend may pass on to the public client.
PASSED_BACK = ("Location", CONSISTENCY_HEADER, "WWW-Authenticate", "X-Consistency-Reached", "Retry-After", "ETag")


@dataclass(frozen=True)
class Upstream:
    """A backend's whole answer, read before its connection went back to the pool."""

    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes

    def json(self):
        return orjson.loads(self.content)


class Backend:
    """One service behind the gateway, called over a pool of keep-alive connections (aiohttp).

    aiohttp rather than httpx: with 32 requests in flight httpx's pool spent about 45 % of the
    gateway's CPU on connection bookkeeping (`has_expired` on every pooled connection per request).
    """

    def __init__(self, name: str, base_url: str, timeout: float, consistency_wait: float, secret: str) -> None:
        self.name = name
        self.secret = secret  # signs the caller it names (MICROBLOG_INTERNAL_SECRET)
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.consistency_wait = consistency_wait
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on first use: a session belongs to the running event loop
            connector = aiohttp.TCPConnector(limit=200, limit_per_host=200, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                self.base_url,
                connector=connector,
                timeout=self.timeout,
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._session

    async def call(
        self,
        method: str,
        path: str,
        request: Request | None = None,
        caller: AccessClaims | None = None,
        consistency: str | None = None,
        wait: float | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        extra_headers: dict[str, str] | None = None,
        **kwargs,
    ) -> Upstream:
        """Call the backend on behalf of the caller, passing the correlation id and consistency token."""
        headers = {CORRELATION_HEADER: context.correlation_id.get() or ""}
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key  # the write service keeps it
        if caller is not None:
            headers.update(caller_headers(caller.user_id, caller.session_id, self.secret))
        token = consistency or (request.headers.get(CONSISTENCY_HEADER) if request is not None else None)
        if token:
            headers[CONSISTENCY_HEADER] = token
            headers["X-Consistency-Timeout"] = str(self.consistency_wait if wait is None else wait)
        if request is not None and caller is None and "authorization" in request.headers:
            headers["Authorization"] = request.headers["authorization"]
        headers.update(extra_headers or {})
        limit = aiohttp.ClientTimeout(total=timeout) if timeout is not None else None
        try:
            # encoded=True: the path goes as built (with microblog_shared.http.paths.segment), not re-normalised.
            url = URL(path, encoded=True)
            async with self.session.request(method, url, headers=headers, timeout=limit, **kwargs) as answer:
                return Upstream(answer.status, answer.headers, await answer.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("%s is unavailable: %r", self.name, exc)
            raise HTTPException(503, f"the {self.name} service is unavailable, try again shortly") from None

    async def forward(
        self, method: str, path: str, request: Request, caller: AccessClaims | None = None, **kwargs
    ) -> Response:
        """Call the backend and relay its answer with the headers clients may see.

        A relayed GET is conditional as the client made it: its `If-None-Match` goes along, and a
        `304` (with the ETag) comes back as it is.
        """
        if method == "GET" and "if-none-match" in request.headers:
            kwargs["extra_headers"] = {"If-None-Match": request.headers["if-none-match"]}
        return relay(await self.call(method, path, request, caller, **kwargs))

    async def ready(self) -> None:
        try:
            response = await self.call("GET", "/readyz", timeout=2.0)
        except HTTPException:
            raise RuntimeError(f"{self.name} is unreachable") from None
        if response.status_code != 200:
            raise RuntimeError(f"{self.name} is not ready: {response.content[:200].decode(errors='replace')}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def relay(upstream: Upstream, status: int | None = None, extra_headers: dict | None = None) -> Response:
    headers = {h: upstream.headers[h] for h in PASSED_BACK if h in upstream.headers}
    headers.update(extra_headers or {})
    status = status or upstream.status_code
    if upstream.status_code == 204 or not upstream.content:
        return Response(status_code=status, headers=headers)
    if not upstream.headers.get("content-type", "").startswith("application/json"):
        log.error("a backend answered %s with a body that is not JSON", upstream.status_code)
        return JSONResponse({"error": "Bad Gateway"}, status_code=502)
    # The backends speak the public shapes already: pass the bytes on instead of re-encoding them.
    return Response(upstream.content, status_code=status, headers=headers, media_type="application/json")


class Backends:
    def __init__(
        self,
        identity: Backend,
        posts: Backend,
        timeline: Backend,
        social_graph: Backend,
        messaging: Backend,
        notifier: Backend,
        search_indexer: Backend,
    ) -> None:
        self.identity, self.posts, self.timeline, self.social_graph = identity, posts, timeline, social_graph
        self.messaging = messaging
        self.notifier = notifier
        self.search_indexer = search_indexer

    def all(self) -> list[Backend]:
        return [
            self.identity,
            self.posts,
            self.timeline,
            self.social_graph,
            self.messaging,
            self.notifier,
            self.search_indexer,
        ]
