"""Every 500 the gateway answers is reported to the notifier, which mails the admins.

Reports go out in the background: they never delay or fail the client's response, and at most
a bounded number are in flight (an error storm drops the surplus; the notifier dedupes anyway).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable

from microblog_shared.runtime import context

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 50


class ErrorReporter:
    def __init__(self, notifier, timeout: float = 5.0) -> None:
        self.notifier, self.timeout = notifier, timeout
        self.in_flight: set[asyncio.Task] = set()

    def report(self, method: str, path: str, status: int, error: str, trace: str = "") -> None:
        """Fire and forget: POST the report to the notifier's /errors."""
        if len(self.in_flight) >= MAX_IN_FLIGHT:
            log.warning("too many error reports in flight; dropping the one for %s %s", method, path)
            return
        body = {
            "service": "gateway",
            "method": method,
            "path": path[:2048],
            "status": status,
            "correlation_id": (context.correlation_id.get() or "")[:64],
            "error": error[:4000],
            "traceback": trace[-20000:],
        }
        task = asyncio.create_task(self._send(body))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def _send(self, body: dict) -> None:
        try:
            answer = await self.notifier.call("POST", "/errors", json=body, timeout=self.timeout)
            if answer.status_code != 202:
                log.warning("the notifier answered %s to an error report", answer.status_code)
        except Exception as exc:  # the report is best effort; the error itself is logged already
            log.warning("could not report an error to the notifier: %r", exc)

    async def close(self) -> None:
        """Give reports in flight a moment to leave, then drop the rest."""
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=1.0)
        for task in set(self.in_flight):
            task.cancel()


class ReportServerErrors:
    """ASGI middleware: an unhandled exception (with its traceback) or a relayed 500 is reported."""

    def __init__(self, app, report: Callable[..., None]) -> None:
        self.app, self.report = app, report

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = 0

        async def watch(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            self.report(
                scope["method"],
                scope["path"],
                500,
                f"{type(exc).__name__}: {exc}",
                "".join(traceback.format_exception(exc)),
            )
            raise
        if status == 500:
            self.report(scope["method"], scope["path"], 500, "a service behind the gateway answered 500")
