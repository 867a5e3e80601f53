"""A tiny projection for the runner's tests, runnable as its own process.

`python -m microblog_testkit.counting` reads MICROBLOG_DATABASE_URL (the read model),
the bus settings and COUNTING_TOPIC, and projects until SIGTERM or SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.bus import create_bus
from microblog_shared.events import Envelope, Event, PostCreated
from microblog_shared.read.projection import SCHEMA as RUNNER_SCHEMA
from microblog_shared.read.projection import Projection, ProjectionRunner
from microblog_shared.runtime.db import create_engine
from microblog_shared.runtime.settings import Settings

SCHEMA = [
    *RUNNER_SCHEMA,
    # No unique key on purpose: a doubled apply would show up as a second row.
    "CREATE TABLE IF NOT EXISTS applied (stream_id text NOT NULL, version int NOT NULL)",
    "CREATE TABLE IF NOT EXISTS totals (author_id int PRIMARY KEY, posts int NOT NULL, chars int NOT NULL)",
]


class CountingProjection(Projection):
    name = "counting"

    def __init__(self, topic: str) -> None:
        self.topics = [topic]

    async def apply(self, conn: AsyncConnection, event: Event, envelope: Envelope) -> None:
        assert isinstance(event, PostCreated)
        await conn.execute(
            text("INSERT INTO applied VALUES (:s, :v)"), {"s": envelope.stream_id, "v": envelope.stream_version}
        )
        await conn.execute(
            text("""INSERT INTO totals VALUES (:a, 1, :c) ON CONFLICT (author_id)
                    DO UPDATE SET posts = totals.posts + 1, chars = totals.chars + EXCLUDED.chars"""),
            {"a": event.author_id, "c": len(event.body)},
        )


def post_envelope(stream: int, version: int) -> Envelope:
    event = PostCreated(
        post_id=stream, author_id=stream % 7, body="x" * (version % 13 + 1), language="", created_at=datetime.now(UTC)
    )
    return Envelope(
        type=event.type_name,
        stream_id=f"post-{stream}",
        stream_version=version,
        producer="test",
        payload=event.model_dump(mode="json"),
    )


async def main() -> None:
    settings = Settings()
    engine = create_engine(settings.database_url)
    bus = create_bus(settings)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    runner = ProjectionRunner(CountingProjection(os.environ["COUNTING_TOPIC"]), engine, bus, batch_size=50)
    try:
        await runner.run(stop)
    finally:
        await bus.close()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
