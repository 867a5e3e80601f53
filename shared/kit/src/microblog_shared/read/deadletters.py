"""A projection's dead letters: list them, retry them, drop them.

Two topics per projection, both on the platform's bus:

- `deadletter.<projection>`: what the runner could not apply, the original record (key, value,
  headers) plus the headers `error` and `source` (JSON `[topic, partition, offset]`).
- `deadletter.<projection>.handled`: one record per dead letter that an operator retried or
  dropped (JSON `{"partition", "offset", "action", "at"}`), an audit trail as durable as the log.

A dead letter is pending until the handled topic names it. Reading both topics from the start
with a throwaway consumer group (`dlq.<projection>.<random>`, never committed) keeps commands
from sharing partitions with each other; dead letters are exceptions, so the topics stay short.
This tool handles a dead letter at most once, so the projector counts the pending ones from end
offsets alone (records on the first topic minus records on the second).

A retry republishes the original record to its source topic with the header `dlq_retry`. The
runner applies it unless a later version of its stream was applied meanwhile; then it
dead-letters the record again with an error saying so (`superseded: ...`), so a retry never
vanishes silently. Such an event can only take its place through a replay.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from microblog_shared.bus import ConsumedRecord, EventBus, Record
from microblog_shared.events import Envelope
from microblog_shared.read.streams import RETRY_HEADER


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: str
    value: bytes
    headers: dict[str, str]
    timestamp_ms: int

    @property
    def id(self) -> str:
        """What `microblog dlq` calls it: PARTITION:OFFSET on the dead-letter topic."""
        return f"{self.partition}:{self.offset}"

    @property
    def source(self) -> tuple[str, int, int] | None:
        try:
            topic, partition, offset = json.loads(self.headers["source"])
            return str(topic), int(partition), int(offset)
        except (KeyError, ValueError, TypeError):
            return None

    @property
    def error(self) -> str:
        """The exception's line (`Type: message`): a traceback's last line that is not indented."""
        lines = [line for line in self.headers.get("error", "").splitlines() if line.strip()]
        exception = [line for line in lines if not line[0].isspace()]
        return (exception or lines or [""])[-1].strip()

    def envelope(self) -> Envelope | None:
        try:
            return Envelope.from_bytes(self.value)
        except ValueError:
            return None

    def describe(self) -> dict[str, Any]:
        envelope = self.envelope()
        source = self.source
        return {
            "id": self.id,
            "partition": self.partition,
            "offset": self.offset,
            "source": None if source is None else {"topic": source[0], "partition": source[1], "offset": source[2]},
            "type": envelope.type if envelope else self.headers.get("type", "(undecodable)"),
            "stream": f"{envelope.stream_id}@{envelope.stream_version}" if envelope else self.key,
            "error": self.error,
            "retry_of": self.headers.get(RETRY_HEADER),
            "dead_at": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(timespec="seconds"),
        }


class UnknownDeadLetter(LookupError):
    pass


class DeadLetterQueue:
    """The dead letters of one projection on a bus."""

    def __init__(self, bus: EventBus, projection: str, timeout: float = 60.0) -> None:
        self.bus = bus
        self.projection = projection
        self.topic = f"deadletter.{projection}"
        self.handled_topic = f"{self.topic}.handled"
        self.timeout = timeout

    async def pending(self) -> list[DeadLetter]:
        """Dead letters not yet retried or dropped, in (partition, offset) order."""
        handled = {(mark["partition"], mark["offset"]) for mark in await self.handled()}
        letters = [
            DeadLetter(r.partition, r.offset, r.key, r.value, r.headers, r.timestamp_ms)
            for r in await self._read_all(self.topic)
        ]
        pending = [letter for letter in letters if (letter.partition, letter.offset) not in handled]
        return sorted(pending, key=lambda letter: (letter.partition, letter.offset))

    async def handled(self) -> list[dict[str, Any]]:
        """Every retry and drop so far, oldest first per partition."""
        return [json.loads(r.value) for r in await self._read_all(self.handled_topic)]

    async def select(self, ids: Sequence[str] | None) -> list[DeadLetter]:
        """Pending dead letters by id (`P:O`, or a bare `O` when one partition has it); None: all."""
        pending = await self.pending()
        if ids is None:
            return pending
        chosen: dict[str, DeadLetter] = {}
        for wanted in ids:
            if ":" in wanted:
                matches = [letter for letter in pending if letter.id == wanted]
            else:
                matches = [letter for letter in pending if str(letter.offset) == wanted]
            if len(matches) != 1:
                known = ", ".join(letter.id for letter in pending) or "none"
                problem = "is ambiguous (give PARTITION:OFFSET)" if matches else "is not a pending dead letter"
                raise UnknownDeadLetter(f"{wanted} {problem}; pending: {known}")
            chosen[matches[0].id] = matches[0]
        return sorted(chosen.values(), key=lambda letter: (letter.partition, letter.offset))

    async def retry(self, letters: Sequence[DeadLetter]) -> None:
        """Republish each letter's original record to its source topic, then mark it handled."""
        by_topic: dict[str, list[Record]] = {}
        for letter in letters:
            if letter.source is None:
                raise ValueError(f"dead letter {letter.id} has no source header: drop it instead")
            headers = {k: v for k, v in letter.headers.items() if k not in ("error", "source")}
            headers[RETRY_HEADER] = letter.id
            by_topic.setdefault(letter.source[0], []).append(Record(letter.key, letter.value, headers))
        for topic, records in by_topic.items():
            await self.bus.publish(topic, records)
        await self._mark(letters, "retry")

    async def drop(self, letters: Sequence[DeadLetter]) -> None:
        """Mark letters handled without applying them."""
        await self._mark(letters, "drop")

    async def _mark(self, letters: Sequence[DeadLetter], action: str) -> None:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        await self.bus.publish(
            self.handled_topic,
            [
                # Keyed by the letter's id: marks of one letter stay in one partition, in order.
                Record(
                    letter.id,
                    json.dumps(
                        {"partition": letter.partition, "offset": letter.offset, "action": action, "at": at}
                    ).encode(),
                )
                for letter in letters
            ],
        )

    async def _read_all(self, topic: str) -> list[ConsumedRecord]:
        """Every record of `topic` up to its end offsets at the time of the call."""
        consumer = self.bus.consumer(f"dlq.{self.projection}.{uuid.uuid4().hex[:12]}", [topic])
        await consumer.start()
        try:
            owned = sorted(consumer.assignment())
            ends = await self.bus.end_offsets(owned)
            positions = {tp: 0 for tp in owned}
            records: list[ConsumedRecord] = []
            deadline = time.monotonic() + self.timeout
            while any(positions[tp] < ends[tp] for tp in owned):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading {topic} took longer than {self.timeout} s")
                for record in await consumer.poll(max_records=1000, timeout=0.5):
                    if record.offset < ends[record.topic_partition]:
                        records.append(record)
                    positions[record.topic_partition] = record.offset + 1
            return records
        finally:
            await consumer.stop()
