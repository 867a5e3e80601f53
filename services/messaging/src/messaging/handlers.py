"""Messaging's use cases: decide, then append to the recipient's inbox stream. No HTTP here.

An inbox is a contended stream (many senders at once): appends follow the kit's conflict
policy with CONTENDED attempts, each appending after whatever reached the inbox first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from messaging import domain
from messaging.adapters import messages
from microblog_shared.events import Envelope, Event, MessageSent
from microblog_shared.write.handling import CONTENDED, retrying, utcnow
from microblog_shared.write.port import EventStore


class Users(Protocol):
    """Who exists (identity's API in production: microblog_shared.http.identity_client.IdentityUsers)."""

    async def username_of(self, user_id: int) -> str | None: ...


class MessagingStore(EventStore, Protocol):
    """The event store port, plus what the messages table answers (adapters.store in production)."""

    async def newest_unread(self, user_id: int) -> int | None: ...


@dataclass(frozen=True)
class Sent:
    message: MessageSent
    sender_name: str | None
    recipient_name: str
    last_event: Envelope


async def send_message(store: EventStore, users: Users, sender_id: int, recipient_id: int, body: str) -> Sent:
    """A message from the sender into the recipient's inbox (the recipient must exist)."""
    domain.send_message(0, sender_id, recipient_id, body, utcnow())  # refuse bad input before any call
    recipient_name = await users.username_of(recipient_id)
    if recipient_name is None:
        raise domain.UnknownUser(recipient_id)
    sender_name = await users.username_of(sender_id)
    message = domain.send_message(await store.next_id("message_ids"), sender_id, recipient_id, body, utcnow())
    last = await _append(store, domain.inbox_stream(recipient_id), message)
    return Sent(message, sender_name, recipient_name, last)


async def read_inbox(store: MessagingStore, user_id: int) -> Envelope | None:
    """Mark every message the user received as read: the MessagesRead appended, or None when none were unread."""
    events = domain.read_inbox(user_id, await store.newest_unread(user_id), utcnow())
    return await _append(store, domain.inbox_stream(user_id), events[0]) if events else None


async def _append(store: EventStore, stream: str, event: Event) -> Envelope:
    """Append `event` after whatever the inbox holds now (its events don't depend on one another)."""

    async def attempt() -> Envelope:
        version = await store.version_of(stream)
        (appended,) = await store.append(stream, version, [event], update_state=messages.record(event))
        return appended

    return await retrying(store, attempt, CONTENDED)
