"""Keeping a session's access token fresh: when to refresh, and one refresh per refresh token.

A rotated refresh token that is presented again signs the user out everywhere (reuse
detection), so concurrent requests of one browser must not each rotate it: the first starts
the refresh, the others await the same result, which is remembered for a minute for requests
that still carry the old cookie.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable

from web.gateway import Unauthorized

REFRESH_MARGIN_SECONDS = 120  # refresh this long before the access token expires
REMEMBER_SECONDS = 60


def expires_at(token: str) -> float | None:
    """The JWT's `exp`, read WITHOUT verifying (the web has no JWT secret; it only schedules refreshes)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def needs_refresh(token: str, now: float | None = None, margin: float = REFRESH_MARGIN_SECONDS) -> bool:
    expiry = expires_at(token)
    return expiry is not None and expiry - (time.time() if now is None else now) < margin


class Refresher:
    """Single-flight refreshes: one call per refresh token, its result shared and remembered."""

    def __init__(
        self,
        refresh: Callable[..., Awaitable[dict]],
        remember: float = REMEMBER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._refresh, self.remember, self.clock = refresh, remember, clock
        self._flights: dict[str, tuple[asyncio.Future[dict], float]] = {}

    async def refresh(self, refresh_token: str, *context) -> dict:
        """The new token pair for `refresh_token` (`context` goes to the first flight's call)."""
        now = self.clock()
        self._forget_older_than(now - self.remember)
        flight = self._flights.get(refresh_token)
        future: asyncio.Future[dict]
        if flight is None:
            future = asyncio.ensure_future(self._refresh(refresh_token, *context))
            self._flights[refresh_token] = (future, now)
            future.add_done_callback(lambda done: self._drop_if_retryable(refresh_token, done))
        else:
            future = flight[0]
        return await asyncio.shield(future)

    def _drop_if_retryable(self, refresh_token: str, done: asyncio.Future) -> None:
        # A rejected token stays rejected; an outage (gateway down) may be retried at once.
        if done.cancelled() or (done.exception() is not None and not isinstance(done.exception(), Unauthorized)):
            self._flights.pop(refresh_token, None)

    def _forget_older_than(self, moment: float) -> None:
        for token, (future, started) in list(self._flights.items()):
            if future.done() and started < moment:
                del self._flights[token]
