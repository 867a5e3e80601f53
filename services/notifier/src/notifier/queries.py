"""The read side: a user's notifications newer than a moment, oldest first."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def notifications_since(conn: AsyncConnection, user_id: int, since: float) -> list[dict]:
    rows = await conn.execute(
        text("""SELECT name, data, timestamp FROM notifications WHERE user_id = :u AND timestamp > :since
                ORDER BY timestamp, name"""),
        {"u": user_id, "since": since},
    )
    return [{"name": r.name, "data": r.data, "timestamp": r.timestamp} for r in rows]
