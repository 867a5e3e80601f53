"""Timeline's composition root: the read API (the projector runs as its own process)."""

from __future__ import annotations

from fastapi import FastAPI

from microblog_shared.runtime.service import read_service_app
from timeline.api import router
from timeline.projection import NAME, TOPICS
from timeline.settings import TimelineSettings


def create_app(settings: TimelineSettings) -> FastAPI:
    return read_service_app(settings, router, NAME, TOPICS)
