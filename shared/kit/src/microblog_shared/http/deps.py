"""Typed dependencies on what a service's composition root hands its routes.

An app factory keeps its collaborators in the app's state; routes never read that state
themselves but take these aliases (and their service's own, built with `collaborator`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from microblog_shared.read.consistency import ProjectionWaiter
from microblog_shared.read.readmodels import VersionedEngine
from microblog_shared.runtime.settings import Settings
from microblog_shared.write.eventstore import EventStore


def collaborator(name: str) -> Callable[[Request], Any]:
    """A dependency on the app's collaborator `name`, as its factory stored it (its alias gives its type)."""

    async def provide(request: Request) -> Any:  # async: FastAPI would run a plain function in a thread
        return getattr(request.app.state, name)

    provide.__name__ = name
    return provide


async def served_reads(request: Request) -> AsyncEngine:
    """Reads run outside transactions (no BEGIN and ROLLBACK round trips) on the served version.

    The read model comes from the app's state directly: one dependency less to solve on every read.
    """
    read_model: VersionedEngine = request.app.state.read_model
    return read_model.reads


ServiceSettings = Annotated[Settings, Depends(collaborator("settings"))]
Engine = Annotated[AsyncEngine, Depends(collaborator("engine"))]
Store = Annotated[EventStore, Depends(collaborator("store"))]
Reads = Annotated[AsyncEngine, Depends(served_reads)]
Waiter = Annotated[ProjectionWaiter, Depends(collaborator("waiter"))]
