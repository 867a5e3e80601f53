"""The services behind the gateway, and how a call to one becomes the public response."""

from __future__ import annotations

import logging

import httpx
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response

from microblog_shared import context
from microblog_shared.auth import USER_HEADER
from microblog_shared.consistency import HEADER as CONSISTENCY_HEADER
from microblog_shared.web import CORRELATION_HEADER

log = logging.getLogger(__name__)

# Headers a backend may pass on to the public client.
PASSED_BACK = ("Location", CONSISTENCY_HEADER, "WWW-Authenticate", "X-Consistency-Reached")


class Backend:
    def __init__(self, name: str, base_url: str, timeout: float, consistency_wait: float) -> None:
        self.name = name
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self.consistency_wait = consistency_wait

    async def call(self, method: str, path: str, request: Request, user_id: int | None = None, **kwargs) -> httpx.Response:
        headers = {CORRELATION_HEADER: context.correlation_id.get() or ""}
        if user_id is not None:
            headers[USER_HEADER] = str(user_id)
        token = request.headers.get(CONSISTENCY_HEADER)
        if token:
            headers[CONSISTENCY_HEADER] = token
            headers["X-Consistency-Timeout"] = str(self.consistency_wait)
        if "authorization" in request.headers and user_id is None:
            headers["Authorization"] = request.headers["authorization"]
        try:
            return await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("%s is unavailable: %r", self.name, exc)
            raise HTTPException(503, f"the {self.name} service is unavailable, try again shortly") from None

    async def forward(self, method: str, path: str, request: Request, user_id: int | None = None, **kwargs) -> Response:
        """Call the backend and relay its JSON answer with the headers clients may see."""
        upstream = await self.call(method, path, request, user_id, **kwargs)
        headers = {h: upstream.headers[h] for h in PASSED_BACK if h in upstream.headers}
        if upstream.status_code == 204 or not upstream.content:
            return Response(status_code=upstream.status_code, headers=headers)
        return JSONResponse(upstream.json(), status_code=upstream.status_code, headers=headers)

    async def ready(self) -> None:
        response = await self.client.get("/readyz", timeout=2.0)
        if response.status_code != 200:
            raise RuntimeError(f"{self.name} is not ready: {response.text[:200]}")

    async def close(self) -> None:
        await self.client.aclose()


class Backends:
    def __init__(self, identity: Backend, posts: Backend, timeline: Backend) -> None:
        self.identity, self.posts, self.timeline = identity, posts, timeline

    def all(self) -> list[Backend]:
        return [self.identity, self.posts, self.timeline]
