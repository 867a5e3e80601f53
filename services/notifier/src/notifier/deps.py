"""What the notifier's routes take: the served read model, its database, its settings and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from microblog_shared.http.auth import CallerId
from microblog_shared.http.deps import Engine, Reads, collaborator
from notifier.settings import NotifierSettings

__all__ = ["CallerId", "Engine", "Reads", "Settings"]

Settings = Annotated[NotifierSettings, Depends(collaborator("settings"))]
