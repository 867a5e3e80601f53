"""The Kafka adapter of the EventBus port, on aiokafka.

aiokafka's defaults are the unsafe ones (acks=1, auto-commit, offset reset "latest"); every
setting that matters for "nothing lost, nothing skipped" is spelled out here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka import TopicPartition as KafkaTopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, TopicAlreadyExistsError, for_code

from microblog_shared.bus.port import AssignmentCallback, ConsumedRecord, Record, TopicPartition

log = logging.getLogger(__name__)

CLIENT_ID = "microblog"
START_TIMEOUT = 60.0  # seconds for a consumer's first group join


def _to_kafka(tp: TopicPartition) -> KafkaTopicPartition:
    return KafkaTopicPartition(tp.topic, tp.partition)


def _from_kafka(tp: KafkaTopicPartition) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)


class KafkaBus:
    """EventBus on Apache Kafka: idempotent producer (acks=all), manual-commit group consumers,
    topics created with retention -1 so a replay can always start at offset 0."""

    name = "kafka"

    def __init__(
        self, bootstrap: str, partitions: int = 4, replication_factor: int = 1, min_insync_replicas: int = 1
    ) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.min_insync_replicas = min_insync_replicas
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets_reader: AIOKafkaConsumer | None = None
        self._known_topics: set[str] = set()
        self._lock = asyncio.Lock()
        self._consumers: set[KafkaConsumer] = set()
        self._closed = False

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        missing = sorted(set(topics) - self._known_topics)
        if not missing:
            return
        async with self._lock:
            missing = sorted(set(topics) - self._known_topics)
            if not missing:
                return
            if self._admin is None:
                # Kept only once started: a client whose bootstrap failed (the broker not yet
                # resolvable, as while a cluster starts) never answers, so the next call starts anew.
                admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=CLIENT_ID)
                try:
                    await admin.start()
                except BaseException:
                    await admin.close()
                    raise
                self._admin = admin
            configs = {
                "retention.ms": "-1",
                "retention.bytes": "-1",
                "min.insync.replicas": str(self.min_insync_replicas),
            }
            response = await self._admin.create_topics(
                [NewTopic(t, self.partitions, self.replication_factor, topic_configs=configs) for t in missing]
            )
            for topic, code, *message in response.topic_errors:
                error = for_code(code)
                if code != 0 and error is not TopicAlreadyExistsError:
                    raise error(f"creating topic {topic!r}: {message[0] if message else ''}")
            await self._wait_until_served(missing)
            self._known_topics.update(missing)

    async def _wait_until_served(self, topics: list[str], timeout: float = 30.0) -> None:
        # The controller answers CreateTopics before every broker's metadata has the topic; a
        # consumer subscribing in that gap would see no partitions until its next refresh.
        assert self._admin is not None, "ensure_topics starts the admin client"
        deadline = time.monotonic() + timeout
        while True:
            described = await self._admin.describe_topics(topics)
            ready = {
                t["topic"]
                for t in described
                if t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
            }
            if ready >= set(topics):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {sorted(set(topics) - ready)} have no leaders after {timeout} s")
            await asyncio.sleep(0.05)

    async def _started_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            async with self._lock:
                if self._producer is None:
                    producer = AIOKafkaProducer(
                        bootstrap_servers=self.bootstrap,
                        client_id=CLIENT_ID,
                        enable_idempotence=True,
                        acks="all",
                    )
                    await producer.start()
                    self._producer = producer
        return self._producer

    async def publish(self, topic: str, records: Sequence[Record]) -> None:
        if not records:
            return
        await self.ensure_topics([topic])
        producer = await self._started_producer()
        deliveries = []
        for record in records:
            headers = [(name, value.encode()) for name, value in record.headers.items()]
            deliveries.append(await producer.send(topic, record.value, key=record.key.encode(), headers=headers))
        await asyncio.gather(*deliveries)

    def consumer(self, group: str, topics: Sequence[str], on_assign: AssignmentCallback | None = None) -> KafkaConsumer:
        return KafkaConsumer(self, group, list(topics), on_assign)

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        if not partitions:
            return {}
        if self._offsets_reader is None:
            async with self._lock:
                if self._offsets_reader is None:
                    reader = AIOKafkaConsumer(
                        bootstrap_servers=self.bootstrap, client_id=CLIENT_ID, enable_auto_commit=False
                    )
                    await reader.start()
                    self._offsets_reader = reader
        ends = await self._offsets_reader.end_offsets([_to_kafka(tp) for tp in partitions])
        return {_from_kafka(tp): offset for tp, offset in ends.items()}

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for consumer in list(self._consumers):
            await consumer.stop()
        for client in (self._producer, self._offsets_reader, self._admin):
            if client is not None:
                await (client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop())
        self._producer = self._offsets_reader = self._admin = None


class KafkaConsumer:
    """A member of a Kafka consumer group; offsets are committed only when asked."""

    def __init__(self, bus: KafkaBus, group: str, topics: list[str], on_assign: AssignmentCallback | None) -> None:
        self.bus = bus
        self.group = group
        self.topics = topics
        self.on_assign = on_assign
        self._consumer: AIOKafkaConsumer | None = None
        self._polled: dict[TopicPartition, int] = {}
        self._joined = asyncio.Event()
        self._assign_error: BaseException | None = None

    async def start(self) -> None:
        await self.bus.ensure_topics(self.topics)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bus.bootstrap,
            client_id=CLIENT_ID,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await self._consumer.start()
        self._consumer.subscribe(self.topics, listener=_Listener(self))
        self.bus._consumers.add(self)
        try:
            await asyncio.wait_for(self._joined.wait(), START_TIMEOUT)
        except BaseException:
            await self.stop()
            raise

    async def _assigned(self, partitions: set[TopicPartition]) -> None:
        try:
            if self.on_assign is not None and partitions:
                await self.on_assign(partitions)
        except Exception as error:
            # aiokafka would only log it and fetch from the committed offsets: surface it instead.
            self._assign_error = error
        finally:
            self._joined.set()

    @property
    def client(self) -> AIOKafkaConsumer:
        """The aiokafka consumer, while started."""
        if self._consumer is None:
            raise RuntimeError("the consumer is not started")
        return self._consumer

    def _revoked(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            self._polled.pop(tp, None)

    async def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[ConsumedRecord]:
        self._raise_assign_error()
        batches = await self.client.getmany(timeout_ms=int(timeout * 1000), max_records=max_records)
        self._raise_assign_error()
        records: list[ConsumedRecord] = []
        for tp in sorted(batches, key=lambda tp: (tp.topic, tp.partition)):
            for r in batches[tp]:
                headers = {name: (value or b"").decode() for name, value in (r.headers or ())}
                key = r.key.decode() if r.key is not None else ""
                records.append(
                    ConsumedRecord(r.topic, r.partition, r.offset, key, r.value or b"", headers, r.timestamp)
                )
            if batches[tp]:
                self._polled[_from_kafka(tp)] = batches[tp][-1].offset + 1
        return records

    def _raise_assign_error(self) -> None:
        if self._assign_error is not None:
            error, self._assign_error = self._assign_error, None
            raise RuntimeError(f"the on_assign callback of group {self.group!r} failed") from error

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        wanted = dict(self._polled) if offsets is None else offsets
        owned = self.assignment()
        to_commit = {_to_kafka(tp): offset for tp, offset in wanted.items() if tp in owned}
        if not to_commit:
            return
        try:
            await self.client.commit(to_commit)
        except (CommitFailedError, IllegalStateError) as error:
            # The group rebalanced under us: those partitions may belong to another member now,
            # which resumes from the last successful commit (at least once, as the port promises).
            log.warning("commit of group %r skipped after a rebalance: %s", self.group, error)

    async def seek(self, partition: TopicPartition, offset: int) -> None:
        if partition not in self.assignment():
            raise ValueError(f"{partition} is not assigned to this consumer")
        self.client.seek(_to_kafka(partition), offset)

    async def seek_to_beginning(self) -> None:
        if self.assignment():
            await self.client.seek_to_beginning()

    def assignment(self) -> set[TopicPartition]:
        if self._consumer is None:
            return set()
        return {_from_kafka(tp) for tp in self._consumer.assignment()}

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        self.bus._consumers.discard(self)
        self._polled.clear()
        if consumer is not None:
            await consumer.stop()  # leaves the group; auto-commit is off, so nothing is committed


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no type information
    """aiokafka awaits these during a rebalance, before it fetches for the new assignment."""

    def __init__(self, owner: KafkaConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Iterable[KafkaTopicPartition]) -> None:
        self.owner._revoked({_from_kafka(tp) for tp in revoked})

    async def on_partitions_assigned(self, assigned: Iterable[KafkaTopicPartition]) -> None:
        await self.owner._assigned({_from_kafka(tp) for tp in assigned})
