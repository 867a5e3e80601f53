"""What social graph's routes take: the event store, its database, identity's directory and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from microblog_shared.http.auth import CallerIdInRange
from microblog_shared.http.deps import Engine, Store, collaborator
from microblog_shared.http.identity_client import IdentityUsers

__all__ = ["CallerIdInRange", "Engine", "Store", "Users"]

Users = Annotated[IdentityUsers, Depends(collaborator("users"))]
