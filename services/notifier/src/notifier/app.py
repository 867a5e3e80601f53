"""The notifier's composition root: the read API (the projector and the mailer run as their own processes)."""

from __future__ import annotations

from fastapi import FastAPI

from microblog_shared.runtime.service import read_service_app
from notifier.api import router
from notifier.projection import NAME, TOPICS
from notifier.settings import NotifierSettings


def create_app(settings: NotifierSettings) -> FastAPI:
    return read_service_app(settings, router, NAME, TOPICS, pool_size=15, streams_span_topics=True)
