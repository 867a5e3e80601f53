"""Posts' composition root."""

from fastapi import FastAPI

from microblog_shared.service import write_service_app
from microblog_shared.settings import Settings
from posts.api import router


def create_app(settings: Settings) -> FastAPI:
    return write_service_app(settings, router)
