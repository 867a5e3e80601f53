"""Posts' composition root."""

from fastapi import FastAPI

from microblog_shared.runtime.service import write_service_app
from posts.adapters.language import LanguageDetector
from posts.api import router
from posts.settings import PostsSettings


def create_app(settings: PostsSettings) -> FastAPI:
    """The posts API over its event store, detecting languages with the bundled model."""
    app = write_service_app(settings, router)
    app.state.detect_language = LanguageDetector()  # loads its model on the first post, not here
    return app
