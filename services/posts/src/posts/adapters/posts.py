"""The posts state table: every live post, written in the transaction that appends its event."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import Event, PostCreated, PostDeleted, PostEdited
from microblog_shared.write.port import StateUpdate


def record(events: Sequence[Event]) -> StateUpdate:
    """The state change of a post's events: a row on creation, a new body on edit, no row once deleted."""

    async def update(conn: AsyncConnection) -> None:
        for event in events:
            await conn.execute(*_statement(event))

    return update


def _statement(event: Event) -> tuple:
    if isinstance(event, PostCreated):
        return (
            text("""INSERT INTO posts (id, author_id, body, language, created_at)
                        VALUES (:id, :author, :body, :language, :at)"""),
            {
                "id": event.post_id,
                "author": event.author_id,
                "body": event.body,
                "language": event.language,
                "at": event.created_at,
            },
        )
    if isinstance(event, PostEdited):
        return (
            text("UPDATE posts SET body = :body, language = :language, edited_at = :at WHERE id = :id"),
            {"id": event.post_id, "body": event.body, "language": event.language, "at": event.edited_at},
        )
    if isinstance(event, PostDeleted):
        return text("DELETE FROM posts WHERE id = :id"), {"id": event.post_id}
    raise TypeError(f"posts have no state change for {type(event).__name__}")
