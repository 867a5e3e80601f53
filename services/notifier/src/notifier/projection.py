"""The notifier projection: users' addresses, unread message counts, task progress, and mail to send.

Notifications are the original app's: one current row per (user, name), its data JSON and a
timestamp (the event's own time, never earlier than the row's previous one, so a replay builds
the same rows and a poller's `since` never misses an update). Mails are queued in the same
transaction, keyed by the event's id.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import (
    EmailChangeRequested,
    Envelope,
    Event,
    ExportCompleted,
    ExportProgressed,
    ExportRequested,
    MessageSent,
    MessagesRead,
    PasswordResetRequested,
    UserProfileUpdated,
    UserRegistered,
)
from microblog_shared.read.projection import Projection, ProjectionSpec
from notifier import outbox
from notifier.mails import email_change_notice_mail, email_confirmation_mail, password_reset_mail, posts_export_mail
from notifier.settings import NotifierSettings

NAME = "notifier"
TOPICS = [
    UserRegistered.topic,
    PasswordResetRequested.topic,
    EmailChangeRequested.topic,
    MessageSent.topic,
    ExportRequested.topic,
]
UNREAD = "unread_message_count"
TASK = "task_progress"
# A handler of one event (of the type it is registered for).
Handler = Callable[[AsyncConnection, Any, Envelope], Awaitable[None]]


class NotifierProjection(Projection):
    name = NAME
    topics = TOPICS
    # Identity's user streams are on three of our topics (users, password resets, email changes).
    streams_span_topics = True

    def __init__(self, public_url: str = "http://127.0.0.1:5000") -> None:
        self.public_url = public_url
        # A replay rebuilds notifications without mailing anybody again (start_bulk/finish_bulk);
        # its tail, which the live projector may apply too, is deduplicated by the outbox's keys.
        self.mailing = True
        self.handlers: dict[type[Event], Handler] = {
            UserRegistered: self._user,
            UserProfileUpdated: self._user,
            PasswordResetRequested: self._reset,
            EmailChangeRequested: self._email_change,
            MessageSent: self._message_sent,
            MessagesRead: self._messages_read,
            ExportRequested: self._export_requested,
            ExportProgressed: self._export_progressed,
            ExportCompleted: self._export_completed,
        }

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> NotifierProjection:
        return cls(settings.public_url)

    async def start_bulk(self, conn: AsyncConnection) -> bool:
        self.mailing = False
        return True

    async def finish_bulk(self, conn: AsyncConnection) -> None:
        self.mailing = True

    async def apply(self, conn: AsyncConnection, event: Event, envelope: Envelope) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            await handler(conn, event, envelope)

    async def _user(self, conn: AsyncConnection, event: UserRegistered | UserProfileUpdated, _: Envelope) -> None:
        await conn.execute(
            text("""INSERT INTO users (id, username, email) VALUES (:id, :u, :e)
                    ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, email = EXCLUDED.email"""),
            {"id": event.user_id, "u": event.username, "e": event.email},
        )

    async def _reset(self, conn: AsyncConnection, event: PasswordResetRequested, envelope: Envelope) -> None:
        if event.expires_at <= datetime.now(UTC):
            return  # the link is dead already (a late redelivery): a mail would only confuse
        await self._mail(
            conn,
            envelope,
            password_reset_mail(event.username, event.email, event.token, event.expires_at, self.public_url),
        )

    async def _email_change(self, conn: AsyncConnection, event: EmailChangeRequested, envelope: Envelope) -> None:
        if event.expires_at <= datetime.now(UTC):
            return  # as for resets: a dead link would only confuse
        link = email_confirmation_mail(event.username, event.new_email, event.token, event.expires_at, self.public_url)
        await self._mail(conn, envelope, link)
        notice = email_change_notice_mail(event.username, event.old_email, event.new_email, self.public_url)
        await self._mail(conn, envelope, notice, key_suffix=":notice")

    async def _message_sent(self, conn: AsyncConnection, event: MessageSent, _: Envelope) -> None:
        await conn.execute(
            text("INSERT INTO unread_messages VALUES (:u, :m) ON CONFLICT DO NOTHING"),
            {"u": event.recipient_id, "m": event.message_id},
        )
        await self._unread_count(conn, event.recipient_id, event.sent_at)

    async def _messages_read(self, conn: AsyncConnection, event: MessagesRead, _: Envelope) -> None:
        await conn.execute(
            text("DELETE FROM unread_messages WHERE user_id = :u AND message_id <= :m"),
            {"u": event.user_id, "m": event.up_to_message_id},
        )
        await self._unread_count(conn, event.user_id, event.read_at)

    async def _unread_count(self, conn: AsyncConnection, user_id: int, at: datetime) -> None:
        count = await conn.scalar(text("SELECT count(*) FROM unread_messages WHERE user_id = :u"), {"u": user_id})
        await _notify(conn, user_id, UNREAD, count, at)

    async def _export_requested(self, conn: AsyncConnection, event: ExportRequested, _: Envelope) -> None:
        await _notify(conn, event.user_id, TASK, {"task_id": event.task_id, "progress": 0}, event.requested_at)

    async def _export_progressed(self, conn: AsyncConnection, event: ExportProgressed, _: Envelope) -> None:
        await _notify(conn, event.user_id, TASK, {"task_id": event.task_id, "progress": event.progress}, event.at)

    async def _export_completed(self, conn: AsyncConnection, event: ExportCompleted, envelope: Envelope) -> None:
        await _notify(conn, event.user_id, TASK, {"task_id": event.task_id, "progress": 100}, event.completed_at)
        user = (
            await conn.execute(text("SELECT username, email FROM users WHERE id = :id"), {"id": event.user_id})
        ).first()
        await self._mail(
            conn,
            envelope,
            posts_export_mail(
                user.username if user else "",
                user.email if user else None,
                event.user_id,
                event.task_id,
                event.post_count,
            ),
        )

    async def _mail(self, conn: AsyncConnection, envelope: Envelope, mail, key_suffix: str = "") -> None:
        if self.mailing:
            await outbox.queue(conn, mail, f"event:{envelope.event_id}{key_suffix}", envelope.correlation_id)


async def _notify(conn: AsyncConnection, user_id: int, name: str, data, at: datetime) -> None:
    await conn.execute(
        text("""INSERT INTO notifications AS n (user_id, name, data, timestamp)
                VALUES (:u, :n, CAST(:d AS jsonb), :t)
                ON CONFLICT (user_id, name) DO UPDATE
                SET data = EXCLUDED.data, timestamp = greatest(EXCLUDED.timestamp, n.timestamp + 0.000001)"""),
        {"u": user_id, "n": name, "d": json.dumps(data), "t": at.timestamp()},
    )


SPEC = ProjectionSpec(
    name=NAME, package="notifier", settings_class=NotifierSettings, make=NotifierProjection.from_settings
)
