"""The mail outbox (`public.mail_outbox`): queued in the projection's (or the API's) transaction,
claimed by mailers with FOR UPDATE SKIP LOCKED, kept afterwards as sent or failed.

Every mail has a dedup key (the event it came from, or an error's fingerprint and window), so a
redelivered event or a replay never queues a second one.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notifier.mails import Attachment, Mail

MAIL_CHANNEL = "notifier_mail"


async def queue(conn: AsyncConnection, mail: Mail, dedup_key: str, correlation_id: str | None = None) -> bool:
    """Queue `mail` unless one with this key is queued already (then count the repeat); True if new."""
    attachment = None
    if mail.attachment is not None:
        attachment = json.dumps(
            {"kind": mail.attachment.kind, "task_id": mail.attachment.task_id, "user_id": mail.attachment.user_id}
        )
    inserted = await conn.scalar(
        text("""INSERT INTO public.mail_outbox (dedup_key, kind, recipients, to_user_id, subject, text_body, html_body,
                                                attachment, correlation_id)
                VALUES (:key, :kind, :to, :user, :subject, :text, :html, CAST(:attachment AS jsonb), :cid)
                ON CONFLICT (dedup_key) DO UPDATE SET occurrences = mail_outbox.occurrences + 1
                RETURNING xmax = 0"""),
        {
            "key": dedup_key,
            "kind": mail.kind,
            "to": list(mail.to),
            "user": mail.to_user_id,
            "subject": mail.subject,
            "text": mail.text,
            "html": mail.html,
            "attachment": attachment,
            "cid": correlation_id,
        },
    )
    if inserted:
        await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": MAIL_CHANNEL})
    return bool(inserted)


def mail_of(row) -> Mail:
    attachment = Attachment(**row.attachment) if row.attachment else None
    return Mail(row.kind, tuple(row.recipients), row.subject, row.text_body, row.html_body, attachment, row.to_user_id)


async def claim_due(conn: AsyncConnection):
    """The next due mail, locked for this transaction (other mailers skip it); None if none is due."""
    return (
        await conn.execute(
            text(
                """SELECT * FROM public.mail_outbox WHERE status = 'queued' AND next_attempt_at <= now()
           ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"""
            )
        )
    ).first()


async def mark_sent(conn: AsyncConnection, mail_id: int, recipients: tuple[str, ...]) -> timedelta:
    return await conn.scalar(
        text("""UPDATE public.mail_outbox SET status = 'sent', attempts = attempts + 1, sent_at = clock_timestamp(),
                       recipients = :to, last_error = NULL
                WHERE id = :id RETURNING sent_at - queued_at"""),
        {"id": mail_id, "to": list(recipients)},
    )


async def mark_retry(conn: AsyncConnection, mail_id: int, delay_seconds: float, error: str) -> None:
    await conn.execute(
        text("""UPDATE public.mail_outbox SET attempts = attempts + 1, last_error = :e,
                       next_attempt_at = clock_timestamp() + make_interval(secs => :d)
                WHERE id = :id"""),
        {"id": mail_id, "d": delay_seconds, "e": error[:2000]},
    )


async def mark_failed(conn: AsyncConnection, mail_id: int, error: str) -> None:
    await conn.execute(
        text(
            "UPDATE public.mail_outbox SET status = 'failed', attempts = attempts + 1, last_error = :e WHERE id = :id"
        ),
        {"id": mail_id, "e": error[:2000]},
    )


async def seconds_until_due(conn: AsyncConnection) -> float | None:
    """How long until the next queued mail is due (0 if one is due now; None if none is queued)."""
    return await conn.scalar(
        text(
            """SELECT greatest(0, extract(epoch FROM min(next_attempt_at) - clock_timestamp()))::float
           FROM public.mail_outbox WHERE status = 'queued'"""
        )
    )


async def mailed_recently(conn: AsyncConnection, kind: str, seconds: int) -> int:
    return await conn.scalar(
        text("""SELECT count(*) FROM public.mail_outbox
                WHERE kind = :k AND queued_at > now() - make_interval(secs => :s)"""),
        {"k": kind, "s": seconds},
    )


async def figures(engine: AsyncEngine) -> dict:
    """What the mailer's /status shows: the queue, delivery latency over the last hour, failures."""
    async with engine.connect() as conn:
        counts: dict[str, int] = dict(
            (await conn.execute(text("SELECT status, count(*) FROM public.mail_outbox GROUP BY status"))).all()
        )
        queue = (
            await conn.execute(
                text(
                    """SELECT count(*) FILTER (WHERE next_attempt_at > now()) AS waiting_to_retry,
                      coalesce(extract(epoch FROM now() - min(queued_at)), 0)::float AS oldest_seconds
               FROM public.mail_outbox WHERE status = 'queued'"""
                )
            )
        ).one()
        latency = (
            await conn.execute(
                text(
                    """SELECT count(*) AS n,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - queued_at)) AS p50,
                      percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - queued_at)) AS p95,
                      max(extract(epoch FROM sent_at - queued_at)) AS max
               FROM public.mail_outbox WHERE status = 'sent' AND sent_at > now() - interval '1 hour'"""
                )
            )
        ).one()
        failed = (
            await conn.execute(
                text(
                    """SELECT id, kind, recipients, attempts, last_error FROM public.mail_outbox WHERE status = 'failed'
               ORDER BY id DESC LIMIT 5"""
                )
            )
        ).all()
    return {
        "queued": counts.get("queued", 0),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "waiting_to_retry": queue.waiting_to_retry,
        "oldest_queued_seconds": round(queue.oldest_seconds, 3),
        "delivery_seconds_last_hour": {
            "count": latency.n,
            "p50": _rounded(latency.p50),
            "p95": _rounded(latency.p95),
            "max": _rounded(latency.max),
        },
        "recent_failures": [
            {"id": f.id, "kind": f.kind, "to": f.recipients, "attempts": f.attempts, "error": f.last_error}
            for f in failed
        ],
    }


def _rounded(value) -> float | None:
    return round(float(value), 3) if value is not None else None
