"""Posts' composition root: the router, the language detector and which status each domain refusal answers."""

from fastapi import FastAPI

from microblog_shared.http.errors import Refusal, Refusals
from microblog_shared.runtime.db import create_engine
from microblog_shared.runtime.service import write_service_app
from microblog_shared.write.eventstore import EventStore
from posts import domain, exports
from posts.adapters.language import LanguageDetector
from posts.adapters.store import PostsEventStore
from posts.api import router
from posts.handlers import DetectLanguage
from posts.settings import PostsSettings

REFUSALS: Refusals = {
    domain.InvalidPost: Refusal(400),
    domain.NotYourPost: Refusal(403),
    domain.PostNotFound: Refusal(404),
    exports.ExportNotFound: Refusal(404),
    exports.ExportRunning: Refusal(409),
}


def create_app(
    settings: PostsSettings, *, detect_language: DetectLanguage | None = None, store: EventStore | None = None
) -> FastAPI:
    """The posts API over its event store, detecting languages with the bundled model unless given a detector."""
    store = store or PostsEventStore(create_engine(settings.database_url), settings.service_name)
    app = write_service_app(settings, router, refusals=REFUSALS, store=store)
    app.state.detect_language = detect_language or LanguageDetector()  # loads its model on the first post
    return app
