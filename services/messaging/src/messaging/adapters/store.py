"""Messaging's event store: PostgreSQL's, answering the handlers' lookups from the messages table."""

from __future__ import annotations

from messaging.adapters import messages
from microblog_shared.events import Envelope
from microblog_shared.write.eventstore import EventStore


class MessagingEventStore(EventStore):
    """`handlers.MessagingStore` on PostgreSQL."""

    async def newest_unread(self, user_id: int) -> int | None:
        return await messages.newest_unread(self.engine, user_id)

    async def sent_with_key(self, sender_id: int, key: str) -> Envelope | None:
        return await messages.sent_with_key(self.engine, sender_id, key)
