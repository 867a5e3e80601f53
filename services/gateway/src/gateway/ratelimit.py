"""A per-key sliding-window limit for login, token refresh, registration and reset attempts."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request

PROXY_SECRET_HEADER = "X-Microblog-Proxy-Secret"


class RateLimiter:
    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def check(self, key: str) -> None:
        """Count one attempt for `key`; 429 when the last minute already had too many."""
        now = time.monotonic()
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.per_minute:
            retry = int(hits[0] + self.window - now) + 1
            raise HTTPException(429, "too many attempts, try again later", headers={"Retry-After": str(retry)})
        hits.append(now)
        if len(self._hits) > 100_000:  # forget idle keys so memory stays bounded
            for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                del self._hits[stale]


def client_address(request: Request, trusted_proxy_secret: str) -> str:
    """The address of whoever the request is for.

    The socket's peer, unless the request comes from a trusted proxy (the web UI calling on behalf
    of a browser): one that presents the configured, non-empty proxy secret. Only then is the first
    address of X-Forwarded-For believed; anybody else can write that header.
    """
    socket_address = request.client.host if request.client else "unknown"
    presented = request.headers.get(PROXY_SECRET_HEADER)
    if (
        not trusted_proxy_secret
        or presented is None
        or not hmac.compare_digest(presented.encode(), trusted_proxy_secret.encode())
    ):
        return socket_address
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:  # absent or not an address: key by the proxy itself
        return socket_address
