"""The messages state table: written in the append's transaction, read directly by the inbox."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from microblog_shared.events import Envelope, Event, MessageSent, MessagesRead
from microblog_shared.http.views import iso
from microblog_shared.write.eventstore import row_to_envelope
from microblog_shared.write.idempotency import KeyTaken
from microblog_shared.write.port import StateUpdate


def record(event: Event) -> StateUpdate:
    """The state change a message event makes: a new row on send, read marks on read."""

    async def update(conn) -> None:
        if isinstance(event, MessageSent):
            await conn.execute(
                text("""INSERT INTO messages (id, sender_id, recipient_id, body, sent_at)
                        VALUES (:id, :sender, :recipient, :body, :at)"""),
                {
                    "id": event.message_id,
                    "sender": event.sender_id,
                    "recipient": event.recipient_id,
                    "body": event.body,
                    "at": event.sent_at,
                },
            )
        elif isinstance(event, MessagesRead):
            await conn.execute(
                text("""UPDATE messages SET read_at = :at
                        WHERE recipient_id = :user AND id <= :up_to AND read_at IS NULL"""),
                {"at": event.read_at, "user": event.user_id, "up_to": event.up_to_message_id},
            )
        else:
            raise TypeError(f"messages have no state change for {type(event).__name__}")

    return update


def keep_key(message: MessageSent, key: str, stream_id: str, stream_version: int) -> StateUpdate:
    """Store the sender's Idempotency-Key for the message at `stream_version` of its inbox (KeyTaken if held)."""

    async def update(conn) -> None:
        kept = await conn.scalar(
            text("""INSERT INTO message_keys (sender_id, key, stream_id, stream_version)
                    VALUES (:sender, :key, :stream, :version)
                    ON CONFLICT (sender_id, key) DO NOTHING RETURNING sender_id"""),
            {"sender": message.sender_id, "key": key, "stream": stream_id, "version": stream_version},
        )
        if kept is None:  # a racing request with the same key committed first: roll this append back
            raise KeyTaken()

    return update


async def sent_with_key(engine: AsyncEngine, sender_id: int, key: str) -> Envelope | None:
    """The MessageSent envelope the sender's Idempotency-Key wrote, if any."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("""SELECT e.* FROM message_keys k
                        JOIN events e ON e.stream_id = k.stream_id AND e.stream_version = k.stream_version
                        WHERE k.sender_id = :sender AND k.key = :key"""),
                {"sender": sender_id, "key": key},
            )
        ).first()
    return row_to_envelope(row) if row is not None else None


async def newest_unread(engine: AsyncEngine, user_id: int) -> int | None:
    """The id of the newest message the user has not read, if any."""
    async with engine.connect() as conn:
        return await conn.scalar(
            text("SELECT max(id) FROM messages WHERE recipient_id = :u AND read_at IS NULL"), {"u": user_id}
        )


async def received(engine: AsyncEngine, user_id: int, limit: int, offset: int, before_id: int | None):
    """One page of the user's received messages, newest first, and how many they have in all."""
    async with engine.connect() as conn:
        total = await conn.scalar(text("SELECT count(*) FROM messages WHERE recipient_id = :u"), {"u": user_id})
        rows = await conn.execute(
            text("""SELECT * FROM messages
                    WHERE recipient_id = :u AND (CAST(:before AS bigint) IS NULL OR id < :before)
                    ORDER BY id DESC LIMIT :n OFFSET :o"""),
            {"u": user_id, "before": before_id, "n": limit, "o": offset},
        )
        return list(rows), total


def party(user_id: int, username: str | None = None) -> dict:
    view = {"id": user_id, "_links": {"self": f"/api/users/{user_id}"}}
    if username is not None:
        view["username"] = username
    return view


def message_view(message, sender_name: str | None = None, recipient_name: str | None = None) -> dict:
    """The public shape of a message (a MessageSent or a messages row)."""
    message_id = getattr(message, "message_id", None) or message.id
    return {
        "id": message_id,
        "body": message.body,
        "timestamp": iso(message.sent_at),
        "read_at": iso(getattr(message, "read_at", None)),
        "sender": party(message.sender_id, sender_name),
        "recipient": party(message.recipient_id, recipient_name),
    }
