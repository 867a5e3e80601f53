"""The timeline projection: users and their posts, as the read API serves them."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import Envelope, Event, PostCreated, UserRegistered

NAME = "timeline"
TOPICS = [UserRegistered.topic, PostCreated.topic]


class TimelineProjection:
    name = NAME
    topics = TOPICS

    async def apply(self, conn: AsyncConnection, event: Event, envelope: Envelope) -> None:
        match event:
            case UserRegistered():
                await conn.execute(
                    text("""INSERT INTO users (id, username) VALUES (:id, :u)
                            ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username"""),
                    {"id": event.user_id, "u": event.username},
                )
            case PostCreated():
                await conn.execute(
                    text("""INSERT INTO posts (id, author_id, body, created_at) VALUES (:id, :a, :b, :t)
                            ON CONFLICT (id) DO NOTHING"""),
                    {"id": event.post_id, "a": event.author_id, "b": event.body, "t": event.created_at},
                )
