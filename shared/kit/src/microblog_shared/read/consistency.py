"""Read-your-writes: consistency tokens and bounded waits on a projection.

A write answers with the token of its last event: `<topic>:<stream_id>:<stream_version>`.
A read service that projects that topic waits (bounded) until its projection has applied
that stream up to that version; a token for a topic it doesn't read needs no wait.

A token names one stream, so a client that chains writes to several streams (a post, then a
follow) sends the header with several tokens, comma-separated (at most MAX_TOKENS): the read
waits for every one of them. `remember` keeps such a list: the newest token per stream, newest first.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.events import Envelope, registry
from microblog_shared.read.projection import notify_channel
from microblog_shared.read.streams import applied_version, dedupe_key
from microblog_shared.runtime.db import Connectable, listen

HEADER = "X-Consistency-Token"
MAX_TOKENS = 8  # tokens one header may carry: the streams of a client's latest writes
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

    @classmethod
    def parse_all(cls, raw: str) -> list[ConsistencyToken]:
        """The tokens of a header value: one, or up to MAX_TOKENS separated by commas."""
        pieces = raw.split(",")
        if len(pieces) > MAX_TOKENS:
            raise InvalidToken(f"malformed {HEADER}: at most {MAX_TOKENS} tokens, comma-separated")
        return [cls.parse(piece) for piece in pieces]

    @property
    def stream(self) -> tuple[str, str]:
        return self.topic, self.stream_id

    def __str__(self) -> str:
        return f"{self.topic}:{self.stream_id}:{self.version}"


def remember(kept: str | None, answered: str) -> str:
    """The header value to send after a write answered `answered`: its tokens first, then those of
    `kept` for other streams, at most MAX_TOKENS. A stream is named once, at its newest version (a
    retried write may answer an older one); tokens that don't parse are dropped.
    """
    newest: dict[tuple[str, str], ConsistencyToken] = {}
    for token in [*_tokens(answered), *_tokens(kept or "")]:
        known = newest.get(token.stream)
        if known is None or token.version > known.version:
            newest[token.stream] = token  # a stream keeps the place where it was first named
    return ",".join(str(t) for t in list(newest.values())[:MAX_TOKENS])


def _tokens(raw: str) -> list[ConsistencyToken]:
    tokens = []
    for piece in raw.split(","):
        with suppress(InvalidToken):
            tokens.append(ConsistencyToken.parse(piece))
    return tokens


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

    async def wait(self, tokens: ConsistencyToken | Iterable[ConsistencyToken] | None, timeout: float) -> bool:
        """True once the projection has applied every one of `tokens` of a topic it projects (at once
        for None or none of them); False on timeout."""
        if tokens is None:
            return True
        pending = [t for t in ([tokens] if isinstance(tokens, ConsistencyToken) else tokens) if t.topic in self.topics]
        if not pending:
            return True
        if self._listener is None:
            self._listener = asyncio.create_task(listen(self.engine, notify_channel(self.projection), self._notify_all))
        deadline = time.monotonic() + timeout
        while True:
            async with self.engine.connect() as conn:
                pending = [t for t in pending if not await self.reached(conn, t)]
            if not pending:
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
