"""What posts' routes take: the event store, its database, the language detector and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from microblog_shared.http.auth import CallerId
from microblog_shared.http.deps import Engine, collaborator
from posts.adapters.store import PostsEventStore
from posts.handlers import DetectLanguage

__all__ = ["CallerId", "Detector", "Engine", "Store"]

Store = Annotated[PostsEventStore, Depends(collaborator("store"))]  # the handlers' port, and its engine

Detector = Annotated[DetectLanguage, Depends(collaborator("detect_language"))]
