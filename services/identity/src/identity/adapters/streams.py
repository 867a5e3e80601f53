"""Reading one stream of identity's own event store after a snapshot's version."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import Envelope, Event, registry


async def events_after(conn: AsyncConnection, stream_id: str, version: int) -> list[Event]:
    """The stream's events after `version`, decoded (and upcast) to their current contracts."""
    rows = await conn.execute(
        text("""SELECT type, schema_version, stream_id, stream_version, producer, payload FROM events
                WHERE stream_id = :s AND stream_version > :v ORDER BY stream_version"""),
        {"s": stream_id, "v": version},
    )
    return [registry.decode(Envelope(**row._mapping)) for row in rows]
