"""The event bus: one port, two adapters (`postgres`, `kafka`), chosen by settings."""

from __future__ import annotations

from microblog_shared.bus.port import (
    AssignmentCallback,
    ConsumedRecord,
    Consumer,
    EventBus,
    Record,
    TopicPartition,
)
from microblog_shared.runtime.settings import Settings

__all__ = ["AssignmentCallback", "ConsumedRecord", "Consumer", "EventBus", "Record", "TopicPartition", "create_bus"]


def create_bus(settings: Settings) -> EventBus:
    bus = _adapter(settings)
    if settings.bus_namespace:
        from microblog_shared.bus.namespace import NamespacedBus

        return NamespacedBus(bus, settings.bus_namespace)
    return bus


def _adapter(settings: Settings) -> EventBus:
    if settings.bus == "kafka":
        from microblog_shared.bus.kafka import KafkaBus

        return KafkaBus(
            bootstrap=settings.kafka_bootstrap,
            partitions=settings.bus_partitions,
            replication_factor=settings.kafka_replication_factor,
            min_insync_replicas=settings.kafka_min_insync_replicas,
        )
    from microblog_shared.bus.postgres import PostgresBus

    return PostgresBus(settings.bus_database_url, partitions=settings.bus_partitions)
