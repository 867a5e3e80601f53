"""Prometheus metrics of the event log's workers (projectors and relays), served on /metrics.

The lag and pending dead letters are properties of a projection, not of one replica: every
replica reads them from the shared checkpoints and the bus, so aggregate them with `max`.
Counters are per process: aggregate them with `sum(rate(...))`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_APPLIED = Counter(
    "microblog_projection_events_applied_total",
    "Events a projection applied to its read model (duplicates and dead letters left out)",
    ["projection"],
)
DEAD_LETTERS = Counter(
    "microblog_projection_dead_letters_total",
    "Records this process sent to the projection's dead-letter topic",
    ["projection"],
)
DEAD_LETTERS_PENDING = Gauge(
    "microblog_projection_dead_letters_pending",
    "Dead letters not yet retried or dropped (`microblog dlq`)",
    ["projection"],
)
LAG = Gauge(
    "microblog_projection_lag",
    "Records between a projection's stored checkpoint and the end of the partition",
    ["projection", "topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "microblog_outbox_backlog",
    "Events appended to a service's store but not yet published to the bus",
    ["service"],
)
OUTBOX_RELAYED = Counter(
    "microblog_outbox_relayed_total",
    "Events this relay moved past in its store (published, or private to the service)",
    ["service"],
)
