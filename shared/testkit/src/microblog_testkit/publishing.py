"""Publishing events the way the write services' relays would, for projection tests."""

from __future__ import annotations

from collections import defaultdict

from microblog_shared.bus import EventBus, Record
from microblog_shared.events import Envelope, Event, registry
from microblog_shared.read.consistency import ConsistencyToken


class EventPublisher:
    """Wraps events in envelopes (numbering each stream) and publishes them on their topics."""

    def __init__(self, bus: EventBus, producer: str = "test") -> None:
        self.bus, self.producer = bus, producer
        self.versions: dict[str, int] = defaultdict(int)

    async def emit(self, stream_id: str, event: Event, correlation_id: str | None = None) -> Envelope:
        self.versions[stream_id] += 1
        envelope = Envelope(
            type=event.type_name,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=self.versions[stream_id],
            producer=self.producer,
            correlation_id=correlation_id,
            payload=event.model_dump(mode="json"),
        )
        await self.publish(envelope)
        return envelope

    async def publish(self, envelope: Envelope) -> None:
        """Publish an envelope as it is (again, for a redelivery test)."""
        topic = registry.contract(envelope.type).topic
        assert topic is not None, f"{envelope.type} stays inside its service: no relay publishes it"
        await self.bus.publish(topic, [Record(key=envelope.stream_id, value=envelope.to_bytes())])

    @staticmethod
    def token(envelope: Envelope) -> str:
        return str(ConsistencyToken.of(envelope))
