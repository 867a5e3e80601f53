"""Messaging's use cases: decide, then append to the recipient's inbox stream. No HTTP here.

An inbox is a contended stream (many senders at once): appends follow the kit's conflict
policy with CONTENDED attempts, each appending after whatever reached the inbox first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from messaging import domain
from messaging.adapters import messages
from microblog_shared.events import Envelope, Event, MessageSent, registry
from microblog_shared.write.handling import CONTENDED, retrying, utcnow
from microblog_shared.write.idempotency import KeyTaken
from microblog_shared.write.port import EventStore, StateUpdate


class Users(Protocol):
    """Who exists (identity's API in production: microblog_shared.http.identity_client.IdentityUsers)."""

    async def username_of(self, user_id: int) -> str | None: ...


class MessagingStore(EventStore, Protocol):
    """The event store port, plus what the messages table answers (adapters.store in production)."""

    async def newest_unread(self, user_id: int) -> int | None: ...

    async def sent_with_key(self, sender_id: int, key: str) -> Envelope | None: ...


@dataclass(frozen=True)
class Sent:
    message: MessageSent
    sender_name: str | None
    recipient_name: str
    last_event: Envelope


async def send_message(
    store: MessagingStore, users: Users, sender_id: int, recipient_id: int, body: str, key: str | None = None
) -> Sent:
    """A message from the sender into the recipient's inbox (the recipient must exist).

    With an Idempotency-Key, the sender's key is stored in the append's transaction: a retry (even
    one racing the first request) answers the message the key sent first and appends nothing.
    """
    domain.send_message(0, sender_id, recipient_id, body, utcnow())  # refuse bad input before any call
    if key is not None and (earlier := await _sent_with(store, users, sender_id, key, recipient_id, body)):
        return earlier
    recipient_name = await users.username_of(recipient_id)
    if recipient_name is None:
        raise domain.UnknownUser(recipient_id)
    sender_name = await users.username_of(sender_id)
    message = domain.send_message(await store.next_id("message_ids"), sender_id, recipient_id, body, utcnow())
    try:
        last = await _append(store, domain.inbox_stream(recipient_id), message, key)
    except KeyTaken:
        assert key is not None
        earlier = await _sent_with(store, users, sender_id, key, recipient_id, body)
        assert earlier is not None  # a kept key is never deleted
        return earlier
    return Sent(message, sender_name, recipient_name, last)


async def _sent_with(
    store: MessagingStore, users: Users, sender_id: int, key: str, recipient_id: int, body: str
) -> Sent | None:
    """The message the sender's key sent, as first answered (KeyReused if sent otherwise, or over 24 hours ago)."""
    envelope = await store.sent_with_key(sender_id, key)
    if envelope is None:
        return None
    first = registry.decode(envelope)
    assert isinstance(first, MessageSent)
    message = domain.retry_message(first, recipient_id, body, utcnow())
    recipient_name = await users.username_of(recipient_id)
    return Sent(message, await users.username_of(sender_id), recipient_name or "", envelope)


async def read_inbox(store: MessagingStore, user_id: int) -> Envelope | None:
    """Mark every message the user received as read: the MessagesRead appended, or None when none were unread."""
    events = domain.read_inbox(user_id, await store.newest_unread(user_id), utcnow())
    return await _append(store, domain.inbox_stream(user_id), events[0]) if events else None


async def _append(store: EventStore, stream: str, event: Event, key: str | None = None) -> Envelope:
    """Append `event` after whatever the inbox holds now (its events don't depend on one another).

    A message's Idempotency-Key is kept in the same transaction (KeyTaken if a racer kept it first).
    """

    async def attempt() -> Envelope:
        version = await store.version_of(stream)
        update = messages.record(event)
        if key is not None and isinstance(event, MessageSent):
            update = _both(update, messages.keep_key(event, key, stream, version + 1))
        (appended,) = await store.append(stream, version, [event], update_state=update)
        return appended

    return await retrying(store, attempt, CONTENDED)


def _both(first: StateUpdate, second: StateUpdate) -> StateUpdate:
    async def update(conn) -> None:
        await first(conn)
        await second(conn)

    return update
