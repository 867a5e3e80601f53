"""Private messages: decisions are pure functions that return the events of what happened.

A message lives on its recipient's inbox stream, so one stream orders everything that
happens to an inbox: the messages arriving and the reads that mark them.
"""

from __future__ import annotations

from datetime import datetime

from microblog_shared.events import MessageSent, MessagesRead
from microblog_shared.write import idempotency

MAX_BODY = 140


class InvalidMessage(ValueError):
    """The message can't be sent as written (empty, too long, or to yourself)."""


class UnknownUser(LookupError):
    """The recipient doesn't exist."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} not found")
        self.user_id = user_id


def inbox_stream(user_id: int) -> str:
    return f"inbox-{user_id}"


def send_message(message_id: int, sender_id: int, recipient_id: int, body: str, now: datetime) -> MessageSent:
    """A message from one person to another, its body stripped: 1 to 140 characters."""
    if sender_id == recipient_id:
        raise InvalidMessage("you cannot send a message to yourself")
    body = body.strip()
    if not body:
        raise InvalidMessage("a message needs a body")
    if len(body) > MAX_BODY:
        raise InvalidMessage(f"a message has at most {MAX_BODY} characters")
    return MessageSent(message_id=message_id, sender_id=sender_id, recipient_id=recipient_id, body=body, sent_at=now)


def retry_message(first: MessageSent, recipient_id: int, body: str, now: datetime) -> MessageSent:
    """The message a retry with the same Idempotency-Key answers: the first one, if sent the same way."""
    idempotency.check_retry(first.recipient_id == recipient_id and first.body == body.strip(), first.sent_at, now)
    return first


def read_inbox(user_id: int, newest_unread_id: int | None, now: datetime) -> list[MessagesRead]:
    """The user read their inbox: one MessagesRead up to the newest unread message, or nothing."""
    if newest_unread_id is None:
        return []
    return [MessagesRead(user_id=user_id, read_at=now, up_to_message_id=newest_unread_id)]
