"""The unread-messages badge of a session, remembered for a few seconds so a page needn't ask for it.

Every page shows the unread count and the exports still running, which come from the caller's
notifications: a second trip through the gateway after the page's own data (about a sixth of the
web's CPU under the home-page load). A page now reuses what this process learnt about the same
session (its access token) in the last `badge_cache_seconds`: from an earlier page's call, from
the browser's live polling of /notifications (which carries every change of the count), or from
reading the inbox (the count is 0). A new message from someone else therefore reaches a freshly
loaded page after at most that many seconds, or sooner through the polling, which also keeps the
open page's badge current. A session with an export running or just started always asks.

Each web worker (serve.py) keeps its own badges. Reading the inbox sets the count to 0 at once:
so that the next page shows it whichever worker serves it, the session carries that reset
(`reset_mark`) for as long as a badge is trusted, and it outranks a badge learnt before it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Badge:
    unread: int
    since: float  # the newest notification's timestamp: where the page's polling starts
    learnt: float  # time.monotonic() when it was last known current
    known_at: float  # time.time() then, to compare with a session's reset mark (learnt in another worker)


class BadgeCache:
    """Per-session badges in this process, at most `size` of them, each trusted for `seconds`."""

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._badges: dict[bytes, Badge] = {}

    @staticmethod
    def _key(token: str) -> bytes:
        # Keyed by a digest: the process keeps no bearer tokens beyond the request that carried them.
        return hashlib.blake2b(token.encode(), digest_size=16).digest()

    def get(self, token: str, reset: object = None) -> Badge | None:
        """The session's badge, or None; `reset` is the session's `reset_mark`, if any."""
        badge = self._badges.get(self._key(token))
        if badge is not None and time.monotonic() - badge.learnt >= self.seconds:
            badge = None
        if isinstance(reset, list) and len(reset) == 3 and all(isinstance(v, int | float) for v in reset):
            at, unread, since = reset
            if 0 <= time.time() - at < self.seconds and (badge is None or badge.known_at < at):
                return Badge(int(unread), since, time.monotonic(), at)
        return badge

    def reset_mark(self, token: str, unread: int, since: float) -> list[float]:
        """Remember a badge the page knows better than the notifier yet (the inbox, just read), and
        the mark for the session that makes every worker show it for the next `seconds`."""
        self.put(token, unread, since)
        return [time.time(), unread, since]

    def put(self, token: str, unread: int, since: float) -> None:
        if self.seconds <= 0:
            return
        key = self._key(token)
        self._badges.pop(key, None)  # re-inserted last: the oldest entry goes first when full
        if len(self._badges) >= self.size:
            del self._badges[next(iter(self._badges))]
        self._badges[key] = Badge(unread, since, time.monotonic(), time.time())

    def forget(self, token: str) -> None:
        self._badges.pop(self._key(token), None)

    def heard(self, token: str, rows: list[dict]) -> None:
        """What the browser's polling of /notifications saw: a changed count, or an export moving."""
        if any(row.get("name") == "task_progress" for row in rows):
            self.forget(token)  # the next page asks, to show the export's progress
            return
        counts = [row for row in rows if row.get("name") == "unread_message_count" and isinstance(row.get("data"), int)]
        if counts:
            newest = max(counts, key=lambda row: float(row.get("timestamp") or 0))
            known = self._badges.get(self._key(token))
            since = max(float(newest.get("timestamp") or 0), known.since if known else 0.0)
            self.put(token, newest["data"], since)
