"""Idempotency-Key on the public API's POSTs: the header (parsed and refused as the kit does) and what
the OpenAPI document says of it.

The gateway keeps no key: it checks the header (400 for a bad one, before any service is called)
and passes it to the write service that stores it with the write (`Backend.call(idempotency_key=)`).
"""

from __future__ import annotations

from microblog_shared.http.idempotency import HEADER, IdempotencyKey

__all__ = ["HEADER", "IdempotencyKey", "harmless", "kept"]

_KEY = "`Idempotency-Key` (1 to 255 printable ASCII characters; anything else is a 400)"


def kept(scope: str = "from the same caller") -> str:
    """The description of a POST whose service keeps the key with the write, the key scoped by `scope`."""
    return (
        f"A retry with the same {_KEY} {scope} within 24 hours answers what the key first answered and "
        "writes nothing; the same key with another body, or after 24 hours, is a 422."
    )


def harmless(why: str) -> str:
    """The description of a POST that accepts a key but needs none to be retried safely, and `why`."""
    return f"Accepts an {_KEY}, which it needs not keep: {why}"
