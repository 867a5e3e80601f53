"""Idempotency keys: a client's name for one write, so that a retry answers the first answer.

A write service stores the key with the write it names, in the append's transaction (as a
reservation of the stream it wrote, or a row its state update inserts), so no crash leaves a
write without its key or a key without its write. The rules here are pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# How long a key names the write it first made; after that the key is refused, not reused.
KEY_LIFETIME = timedelta(hours=24)


class KeyReused(ValueError):
    """An Idempotency-Key sent again with another body, or after its 24 hours (HTTP 422)."""


class KeyTaken(Exception):
    """A racing request stored the same key first: its write is the one the key names."""


def check_retry(same_request: bool, first_at: datetime | None, now: datetime) -> None:
    """Refuse a retry (KeyReused) unless it repeats the first request within KEY_LIFETIME of it."""
    if not same_request:
        raise KeyReused("this Idempotency-Key was sent with another body; send a new key for a new request")
    if first_at is None or now - first_at > KEY_LIFETIME:
        raise KeyReused("this Idempotency-Key is more than 24 hours old; send a new key")
