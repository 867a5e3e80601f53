"""Read-your-writes: consistency tokens and bounded waits on a projection.

A write answers with the token of its last event: `<topic>:<stream_id>:<stream_version>`.
A read service that projects that topic waits (bounded) until its projection has applied
that stream up to that version; a token for a topic it doesn't read needs no wait.
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import Envelope, registry
from microblog_shared.read.projection import notify_channel
from microblog_shared.read.streams import applied_version, dedupe_key
from microblog_shared.runtime.db import Connectable, listen

HEADER = "X-Consistency-Token"
_TOKEN = re.compile(r"^(?P<topic>[a-z][a-z0-9._-]{0,100}):(?P<stream>[A-Za-z0-9._-]{1,200}):(?P<version>[0-9]{1,9})$")


class InvalidToken(ValueError):
    pass


@dataclass(frozen=True)
class ConsistencyToken:
    topic: str
    stream_id: str
    version: int

    @classmethod
    def of(cls, envelope: Envelope) -> ConsistencyToken:
        topic = registry.contract(envelope.type).topic
        if topic is None:
            raise ValueError(f"{envelope.type} stays inside its service: no read model waits for it")
        return cls(topic, envelope.stream_id, envelope.stream_version)

    @classmethod
    def parse(cls, raw: str) -> ConsistencyToken:
        match = _TOKEN.match(raw.strip())
        if not match:
            raise InvalidToken(f"malformed {HEADER}: expected <topic>:<stream>:<version>")
        return cls(match["topic"], match["stream"], int(match["version"]))

    def __str__(self) -> str:
        return f"{self.topic}:{self.stream_id}:{self.version}"


class ProjectionWaiter:
    """Waits until a projection has caught up with tokens; one LISTEN connection per process."""

    def __init__(
        self, engine: Connectable, projection: str, topics: set[str], streams_span_topics: bool = False
    ) -> None:
        self.engine = engine
        self.streams_span_topics = streams_span_topics  # see projection.dedupe_key
        self.projection = projection
        self.topics = topics
        self._changed = asyncio.Condition()
        self._listener: asyncio.Task[None] | None = None

    async def _notify_all(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def reached(self, conn: AsyncConnection, token: ConsistencyToken) -> bool:
        if token.topic not in self.topics:
            return True
        key = dedupe_key(token.topic, token.stream_id, self.streams_span_topics)
        return await applied_version(conn, self.projection, key) >= token.version

    async def wait(self, token: ConsistencyToken | None, timeout: float) -> bool:
        """True once the projection has applied `token` (at once for None); False on timeout."""
        if token is None or token.topic not in self.topics:
            return True
        if self._listener is None:
            self._listener = asyncio.create_task(listen(self.engine, notify_channel(self.projection), self._notify_all))
        deadline = time.monotonic() + timeout
        while True:
            async with self.engine.connect() as conn:
                if await self.reached(conn, token):
                    return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Also re-check every 100 ms, in case a notification came before we listened.
            async with self._changed:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.1))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
