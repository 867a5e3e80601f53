"""Revoked sessions, known to every gateway replica at once.

The replica that handles a logout drops the session itself; the others learn it from
`SessionRevoked` events on the bus within milliseconds. At start a replica first follows the
topic from its end, then loads the still-relevant revocations from identity, so none is missed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime

from microblog_shared.bus import Consumer, EventBus, TopicPartition
from microblog_shared.events import Envelope, SessionRevoked

log = logging.getLogger(__name__)


class RevokedSessions:
    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self.loaded = asyncio.Event()

    def revoke(self, session_id: str, until: datetime) -> None:
        self._until[session_id] = max(until, self._until.get(session_id, until))

    def is_revoked(self, session_id: str) -> bool:
        until = self._until.get(session_id)
        if until is None:
            return False
        if until < datetime.now(UTC):
            del self._until[session_id]  # its tokens have expired anyway
            return False
        return True

    async def follow(self, bus: EventBus, load_snapshot, stop: asyncio.Event) -> None:
        """Keep the set current until `stop`: the bus from its end, plus identity's snapshot."""
        topic = SessionRevoked.topic
        consumer: Consumer | None = None  # the one from_the_end seeks

        async def from_the_end(partitions: set[TopicPartition]) -> None:
            assert consumer is not None  # partitions are assigned only to a started consumer
            ends = await bus.end_offsets(sorted(partitions))
            for tp, offset in ends.items():
                await consumer.seek(tp, offset)

        group = f"gateway.{socket.gethostname()}.{os.getpid()}"
        while not stop.is_set():
            # A new consumer each attempt: a stopped Kafka consumer cannot be started again.
            consumer = bus.consumer(group, [topic], on_assign=from_the_end)
            try:
                await consumer.start()
                for entry in await load_snapshot():
                    self.revoke(entry["session_id"], datetime.fromisoformat(entry["tokens_expire_at"]))
                self.loaded.set()
                while not stop.is_set():
                    for record in await consumer.poll(timeout=0.5):
                        self._apply(record.value)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following revoked sessions failed; retrying")
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    def _apply(self, value: bytes) -> None:
        envelope = Envelope.from_bytes(value)
        if envelope.type == SessionRevoked.type_name:
            event = SessionRevoked.model_validate(envelope.payload)
            self.revoke(event.session_id, event.tokens_expire_at)
