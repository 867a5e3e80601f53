"""The mailer: sends queued mail, one outbox row per transaction, and never holds up the projector.

Each of a few delivery loops claims the next due row (FOR UPDATE SKIP LOCKED, so mailer replicas
share the queue), fetches its attachment, hands it to SMTP and records the outcome before it
commits. A failed try is retried with exponential backoff up to a cap; after the last attempt the
mail is kept as failed with its error. NOTIFY on queueing wakes the loops at once; a short poll
covers retries coming due.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from prometheus_client import Counter, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.read.readmodels import current_schema, search_path
from microblog_shared.runtime.db import listen
from microblog_shared.runtime.status import Monitor
from notifier import outbox
from notifier.adapters.posts import PostsExports
from notifier.adapters.smtp import SmtpServer
from notifier.delivery import PermanentFailure, RetryPolicy
from notifier.mails import Mail, email_message
from notifier.projection import NAME

log = logging.getLogger(__name__)

DELIVERY_SECONDS = Histogram(
    "microblog_mail_delivery_seconds",
    "From queued to handed to SMTP",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
MAIL_OUTCOMES = Counter("microblog_mail_attempts_total", "Delivery attempts by outcome", ["kind", "outcome"])


class Mailer:
    def __init__(
        self,
        engine: AsyncEngine,
        smtp: SmtpServer,
        exports: PostsExports,
        sender: str,
        policy: RetryPolicy,
        concurrency: int = 2,
        poll_seconds: float = 1.0,
    ) -> None:
        self.engine, self.smtp, self.exports, self.sender = engine, smtp, exports, sender
        self.policy, self.concurrency, self.poll_seconds = policy, concurrency, poll_seconds
        self.wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(listen(self.engine, outbox.MAIL_CHANNEL, self._queued))
        try:
            await asyncio.gather(*(self._deliver_until(stop) for _ in range(self.concurrency)))
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _queued(self) -> None:
        self.wake.set()

    async def _deliver_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()  # before looking, so a mail queued while we look wakes us again
            try:
                if await self.deliver_one():
                    continue
                async with self.engine.connect() as conn:
                    due = await outbox.seconds_until_due(conn)
            except Exception:
                log.warning("the mail outbox is unreachable; trying again shortly", exc_info=True)
                due = None
            # Nothing claimable yet a mail due now: another mailer holds it (an SMTP send can take
            # seconds), so sleep a poll instead of spinning on the outbox until it lets go.
            idle = self.poll_seconds if not due else min(self.poll_seconds, due)
            waits = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()

    async def deliver_one(self) -> bool:
        """Try the next due mail; False when none is due."""
        async with self.engine.begin() as conn:
            row = await outbox.claim_due(conn)
            if row is None:
                return False
            mail = outbox.mail_of(row)
            attempt = row.attempts + 1
            try:
                mail = await self._addressed(conn, mail)
                attachment = await self.exports.file(mail.attachment) if mail.attachment else None
                await self.smtp.send(email_message(mail, self.sender, attachment))
            except Exception as exc:
                await self._failed(conn, row.id, mail, attempt, exc)
                return True
            latency = await outbox.mark_sent(conn, row.id, mail.to)
        DELIVERY_SECONDS.labels(mail.kind).observe(latency.total_seconds())
        MAIL_OUTCOMES.labels(mail.kind, "sent").inc()
        log.info("mailed %s to %s in %.3f s after queueing", mail.kind, ", ".join(mail.to), latency.total_seconds())
        return True

    async def _failed(self, conn: AsyncConnection, mail_id: int, mail: Mail, attempt: int, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if self.policy.gives_up(attempt, permanent=isinstance(exc, PermanentFailure)):
            await outbox.mark_failed(conn, mail_id, error)
            MAIL_OUTCOMES.labels(mail.kind, "failed").inc()
            log.error("giving up on %s mail %d after %d attempt(s): %s", mail.kind, mail_id, attempt, error)
            return
        delay = self.policy.delay(attempt)
        await outbox.mark_retry(conn, mail_id, delay, error)
        MAIL_OUTCOMES.labels(mail.kind, "retry").inc()
        log.warning("%s mail %d failed (attempt %d), retrying in %.0f s: %s", mail.kind, mail_id, attempt, delay, error)

    async def _addressed(self, conn: AsyncConnection, mail: Mail) -> Mail:
        """The mail with its recipient's address, looked up in the served read model if it had none yet."""
        if mail.to or mail.to_user_id is None:
            return mail
        schema = search_path(await current_schema(conn, NAME))
        email = await conn.scalar(text(f'SELECT email FROM "{schema}".users WHERE id = :id'), {"id": mail.to_user_id})
        if not email:
            raise LookupError(f"no address known yet for user {mail.to_user_id}")
        return replace(mail, to=(email,))


class MailerMonitor(Monitor):
    """The mailer's /status: queue size, retries waiting, delivery latency, recent failures."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def refresh(self) -> dict:
        started = time.monotonic()
        figures = await outbox.figures(self.engine)
        return {
            "kind": "mailer",
            **figures,
            "query_seconds": round(time.monotonic() - started, 3),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


async def run_mailer(settings, stop: asyncio.Event, app) -> None:
    """The `mailer` worker process: its own engine, SMTP server and posts client."""
    from microblog_shared.runtime.db import create_engine

    engine = create_engine(settings.database_url, pool_size=settings.mailer_concurrency + 1)
    exports = PostsExports.at(settings.posts_url, settings.posts_timeout_seconds, settings.internal_secret)
    try:
        mailer = Mailer(
            engine,
            SmtpServer(settings),
            exports,
            settings.mail_sender,
            settings.retry_policy,
            settings.mailer_concurrency,
        )
        app.state.monitor = MailerMonitor(engine)
        await mailer.run(stop)
    finally:
        await exports.close()
        await engine.dispose()
