"""The Idempotency-Key request header, as the gateway and the write services accept it on POSTs.

1 to 255 printable ASCII characters (space included); anything else (too long, a control or a
non-ASCII character) is a 400 where the request is parsed. The key's scope, storage and
lifetime are the write services' (microblog_shared.write.idempotency).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

HEADER = "Idempotency-Key"
PATTERN = r"^[\x20-\x7e]{1,255}$"

IdempotencyKey = Annotated[
    str | None, Header(alias=HEADER, pattern=PATTERN, description="1 to 255 printable ASCII characters")
]
"""A route's optional Idempotency-Key (declare it `idempotency_key: IdempotencyKey = None`)."""
