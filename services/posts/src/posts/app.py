"""Posts' composition root."""

from fastapi import FastAPI

from microblog_shared.service import write_service_app
from microblog_shared.settings import Settings
from posts.adapters.language import LanguageDetector
from posts.api import router


def create_app(settings: Settings) -> FastAPI:
    """The posts API over its event store, detecting languages with the bundled model."""
    app = write_service_app(settings, router)
    app.state.detect_language = LanguageDetector()  # loads its model on the first post, not here
    return app
