"""The Kafka adapter recovers from a broker that was not there yet (a cluster still starting)."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest
from aiokafka.errors import KafkaConnectionError

from microblog_shared.bus.kafka import KafkaBus
from microblog_shared.bus.port import TopicPartition

pytestmark = pytest.mark.kafka


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_topics_are_created_once_the_broker_answers_after_a_failed_bootstrap(kafka_bootstrap):
    """The first call fails (nothing listens); the next, once the broker answers, must not hang."""
    broker_host, broker_port = kafka_bootstrap.rsplit(":", 1)
    port = free_port()
    bus = KafkaBus(f"127.0.0.1:{port}")
    topic = f"t{uuid.uuid4().hex[:8]}.bootstrap"

    with pytest.raises(KafkaConnectionError):
        await bus.ensure_topics([topic])

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Only the bootstrap goes through here: the metadata names the broker's own address.
        upstream_reader, upstream_writer = await asyncio.open_connection(broker_host, int(broker_port))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)

    server = await asyncio.start_server(forward, "127.0.0.1", port)
    try:
        await asyncio.wait_for(bus.ensure_topics([topic]), 30)
        first = TopicPartition(topic, 0)
        assert (await bus.end_offsets([first]))[first] == 0
    finally:
        await bus.close()
        server.close()
