"""The services behind the gateway, and how a call to one becomes the public response."""

from __future__ import annotations

import logging

import httpx
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response

from microblog_shared import context
from microblog_shared.auth import SESSION_HEADER, USER_HEADER, AccessClaims
from microblog_shared.consistency import HEADER as CONSISTENCY_HEADER
from microblog_shared.web import CORRELATION_HEADER

log = logging.getLogger(__name__)

# Headers a backend may pass on to the public client.
PASSED_BACK = ("Location", CONSISTENCY_HEADER, "WWW-Authenticate", "X-Consistency-Reached", "Retry-After")


class Backend:
    def __init__(self, name: str, base_url: str, timeout: float, consistency_wait: float) -> None:
        self.name = name
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout,
                                        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100))
        self.consistency_wait = consistency_wait

    async def call(self, method: str, path: str, request: Request | None = None, caller: AccessClaims | None = None,
                   consistency: str | None = None, wait: float | None = None, **kwargs) -> httpx.Response:
        """Call the backend on behalf of the caller, passing the correlation id and consistency token."""
        headers = {CORRELATION_HEADER: context.correlation_id.get() or ""}
        if caller is not None:
            headers[USER_HEADER] = str(caller.user_id)
            headers[SESSION_HEADER] = caller.session_id
        token = consistency or (request.headers.get(CONSISTENCY_HEADER) if request is not None else None)
        if token:
            headers[CONSISTENCY_HEADER] = token
            headers["X-Consistency-Timeout"] = str(self.consistency_wait if wait is None else wait)
        if request is not None and caller is None and "authorization" in request.headers:
            headers["Authorization"] = request.headers["authorization"]
        try:
            return await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("%s is unavailable: %r", self.name, exc)
            raise HTTPException(503, f"the {self.name} service is unavailable, try again shortly") from None

    async def forward(self, method: str, path: str, request: Request, caller: AccessClaims | None = None,
                      **kwargs) -> Response:
        """Call the backend and relay its answer with the headers clients may see."""
        return relay(await self.call(method, path, request, caller, **kwargs))

    async def ready(self) -> None:
        response = await self.client.get("/readyz", timeout=2.0)
        if response.status_code != 200:
            raise RuntimeError(f"{self.name} is not ready: {response.text[:200]}")

    async def close(self) -> None:
        await self.client.aclose()


def relay(upstream: httpx.Response, status: int | None = None, extra_headers: dict | None = None) -> Response:
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
    def __init__(self, identity: Backend, posts: Backend, timeline: Backend, social_graph: Backend) -> None:
        self.identity, self.posts, self.timeline, self.social_graph = identity, posts, timeline, social_graph

    def all(self) -> list[Backend]:
        return [self.identity, self.posts, self.timeline, self.social_graph]

    async def written(self, request: Request, write: httpx.Response, read_path: str, caller: AccessClaims | None,
                      status: int, wait: float = 1.0) -> Response:
        """Answer a successful write with the read model's view of it, once that view includes it.

        If the projection is slower than `wait`, answer with what the write service returned.
        """
        token = write.headers.get(CONSISTENCY_HEADER)
        if write.status_code >= 300 or not token:
            return relay(write)
        view = await self.timeline.call("GET", read_path, caller=caller, consistency=token, wait=wait)
        reached = view.status_code == 200 and view.headers.get("X-Consistency-Reached") == "true"
        extra = {h: write.headers[h] for h in ("Location", CONSISTENCY_HEADER) if h in write.headers}
        return relay(view if reached else write, status=status, extra_headers=extra)
