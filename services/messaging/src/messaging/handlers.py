"""Messaging's use cases: decide, then append to the recipient's inbox stream. No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from microblog_shared.events import Envelope, Event, MessageSent
from microblog_shared.write.eventstore import ConcurrencyError, EventStore
from messaging import domain
from messaging.adapters import messages

# Senders racing into one inbox lose the append at most once per other racer; past this many
# in a row the shared error handlers answer 409.
ATTEMPTS = 10


class Users(Protocol):
    """Who exists (identity's API in production; adapters.identity.IdentityUsers)."""

    async def username_of(self, user_id: int) -> str | None: ...


@dataclass(frozen=True)
class Sent:
    message: MessageSent
    sender_name: str | None
    recipient_name: str
    last_event: Envelope


async def send_message(store: EventStore, users: Users, sender_id: int, recipient_id: int, body: str) -> Sent:
    """A message from the sender into the recipient's inbox (the recipient must exist)."""
    domain.send_message(0, sender_id, recipient_id, body, _now())  # refuse bad input before any call
    recipient_name = await users.username_of(recipient_id)
    if recipient_name is None:
        raise domain.UnknownUser(recipient_id)
    sender_name = await users.username_of(sender_id)
    message = domain.send_message(await store.next_id("message_ids"), sender_id, recipient_id, body, _now())
    last = await _append(store, domain.inbox_stream(recipient_id), message)
    return Sent(message, sender_name, recipient_name, last)


async def read_inbox(store: EventStore, user_id: int) -> Envelope | None:
    """Mark every message the user received as read: the MessagesRead appended, or None when none were unread."""
    events = domain.read_inbox(user_id, await messages.newest_unread(store.engine, user_id), _now())
    return await _append(store, domain.inbox_stream(user_id), events[0]) if events else None


async def _append(store: EventStore, stream: str, event: Event) -> Envelope:
    for attempt in range(1, ATTEMPTS + 1):
        version = await messages.inbox_version(store.engine, stream)
        try:
            (appended,) = await store.append(stream, version, [event], update_state=messages.record(event))
        except ConcurrencyError:
            if attempt == ATTEMPTS:
                raise
            continue  # another event reached this inbox first: append after it
        return appended
    raise AssertionError("unreachable")


def _now() -> datetime:
    return datetime.now(timezone.utc)
