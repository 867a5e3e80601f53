"""Per-key limits: a sliding window for login, refresh, registration, reset and password attempts,
fixed windows for the write budgets (see writelimits), and the client address they key on."""

from __future__ import annotations

import hmac
import ipaddress
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from fastapi import HTTPException, Request

PROXY_SECRET_HEADER = "X-Microblog-Proxy-Secret"
MAX_KEYS = 100_000  # beyond this many keys, idle ones are forgotten so memory stays bounded


class RateLimiter:
    """At most `per_minute` attempts per key in any `window` seconds (a sliding window)."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def wait(self, key: str) -> int | None:
        """Whole seconds until `key` may try again, or None when it may now (nothing is counted)."""
        now = time.monotonic()
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.per_minute:
            return None
        return int(hits[0] + self.window - now) + 1

    def note(self, key: str) -> None:
        """Count one attempt for `key`."""
        now = time.monotonic()
        self._hits[key].append(now)
        if len(self._hits) > MAX_KEYS:
            for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                del self._hits[stale]

    def check(self, key: str) -> None:
        """Count one attempt for `key`; 429 when the last window already had too many."""
        retry = self.wait(key)
        if retry is not None:
            raise HTTPException(429, "too many attempts, try again later", headers={"Retry-After": str(retry)})
        self.note(key)


@dataclass(frozen=True)
class Budget:
    """What a key has left in its current window; `reset` is whole seconds until the window ends."""

    limit: int
    remaining: int
    reset: int


class FixedWindow:
    """At most `limit` hits per key in each window of `window` seconds, from the key's first hit.

    When a window ends the key's count starts afresh, so `Budget.reset` tells a client exactly
    when its whole budget is back.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}  # key: (window start, hits in it)

    def _current(self, key: str, now: float) -> tuple[float, int]:
        started, hits = self._windows.get(key, (now, 0))
        if now >= started + self.window:
            return now, 0
        return started, hits

    def budget(self, key: str) -> Budget:
        """The key's budget, counting nothing."""
        now = time.monotonic()
        started, hits = self._current(key, now)
        return Budget(self.limit, max(self.limit - hits, 0), math.ceil(started + self.window - now))

    def spend(self, key: str) -> Budget:
        """Count one hit for `key` (the caller checked the budget first); what is left after it."""
        now = time.monotonic()
        started, hits = self._current(key, now)
        self._windows[key] = (started, hits + 1)
        if len(self._windows) > MAX_KEYS:
            for stale in [k for k, (s, _) in self._windows.items() if now >= s + self.window]:
                del self._windows[stale]
        return Budget(self.limit, max(self.limit - hits - 1, 0), math.ceil(started + self.window - now))


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
