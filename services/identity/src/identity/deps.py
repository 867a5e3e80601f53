"""What identity's routes take: the store, the clock's now, the token policy and the caller."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException

from identity import handlers
from identity.adapters.store import IdentityEventStore
from microblog_shared.http.auth import CallerId, CallerSessionId
from microblog_shared.http.deps import ServiceSettings, collaborator

Clock = Callable[[], datetime]

__all__ = ["BasicCredentials", "CallerId", "CallerSessionId", "Clock", "Now", "OwnUserId", "Policy", "Store"]

Store = Annotated[IdentityEventStore, Depends(collaborator("store"))]  # the handlers' port, and its engine


def _now(clock: Annotated[Clock, Depends(collaborator("clock"))]) -> datetime:
    return clock()


def _policy(settings: ServiceSettings) -> handlers.TokenPolicy:
    return handlers.TokenPolicy(settings.jwt_secret, settings.access_token_minutes)


def _basic_credentials(authorization: Annotated[str | None, Header(max_length=4096)] = None) -> tuple[str, str] | None:
    """HTTP Basic credentials decoded as UTF-8 (RFC 7617), so non-ASCII passwords work; None if absent or broken."""
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if scheme.lower() == "basic" and colon else None


def _self_only(user_id: int, caller: CallerId) -> int:
    if caller != user_id:
        raise HTTPException(403, "you can only change your own account")
    return user_id


Now = Annotated[datetime, Depends(_now)]
Policy = Annotated[handlers.TokenPolicy, Depends(_policy)]
BasicCredentials = Annotated[tuple[str, str] | None, Depends(_basic_credentials)]
OwnUserId = Annotated[int, Depends(_self_only)]  # checked before the body, so strangers learn nothing
