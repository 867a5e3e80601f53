"""Errors the gateway answered with a 500, mailed to the admins: one mail per alike error and
window, and no more than a set number an hour however many different errors arrive."""

from __future__ import annotations

import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from notifier import outbox
from notifier.mails import ErrorReport, admin_error_mail
from notifier.settings import NotifierSettings

log = logging.getLogger(__name__)


async def report_error(engine: AsyncEngine, settings: NotifierSettings, report: ErrorReport) -> str:
    """Queue the admins' mail for `report`; says what became of it (queued, repeat, limited, no admins)."""
    log.error(
        "%s answered %s to %s %s (correlation id %s): %s",
        report.service,
        report.status,
        report.method,
        report.path,
        report.correlation_id,
        report.error.splitlines()[0] if report.error else "",
    )
    admins = settings.admin_addresses
    if not admins:
        return "no admins"
    window = int(time.time() // settings.error_mail_window_seconds)
    key = f"error:{report.fingerprint()}:{window}"
    async with engine.begin() as conn:
        # One mailer at a time decides on the hourly budget (a transaction-scoped advisory lock).
        await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7200001)")
        if await outbox.mailed_recently(conn, "admin_error", 3600) >= settings.error_mails_per_hour:
            log.warning("admin error mails are over %d an hour; not mailing this one", settings.error_mails_per_hour)
            return "limited"
        new = await outbox.queue(conn, admin_error_mail(report, admins), key, report.correlation_id)
    return "queued" if new else "repeat"
