"""What messaging's routes take: the event store, its database, identity's directory and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from messaging.adapters.store import MessagingEventStore
from microblog_shared.http.auth import CallerIdInRange
from microblog_shared.http.deps import Engine, collaborator
from microblog_shared.http.identity_client import IdentityUsers

__all__ = ["CallerIdInRange", "Engine", "Store", "Users"]

Store = Annotated[MessagingEventStore, Depends(collaborator("store"))]  # the handlers' port, and its engine

Users = Annotated[IdentityUsers, Depends(collaborator("users"))]
