"""Who is active: verified callers' activity, reported to identity as their last_seen (see deps.Caller)."""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger(__name__)


class Activity:
    """Reports a user's activity to identity (last_seen) at most once per interval."""

    def __init__(self, report, interval: float) -> None:
        self.report = report
        self.interval = interval
        self._last: dict[int, float] = {}
        self._tasks: set[asyncio.Task] = set()

    def saw(self, user_id: int) -> None:
        now = time.monotonic()
        if now - self._last.get(user_id, -1e9) < self.interval:
            return
        self._last[user_id] = now
        task = asyncio.get_running_loop().create_task(self._report(user_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report(self, user_id: int) -> None:
        try:
            await self.report(user_id)
        except Exception as exc:  # last_seen is best effort: the request itself must not fail
            log.warning("could not report activity of user %s: %r", user_id, exc)
