"""A per-key sliding-window limit for login, token refresh and registration attempts."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request


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


def limit_auth_attempts(request: Request) -> None:
    """Dependency: one attempt per call, keyed by the client's address and the route."""
    client = request.client.host if request.client else "unknown"
    request.app.state.auth_limiter.check(f"{client} {request.method} {request.url.path}")
