"""A notifier (API, projector and mailer) over a real bus, mailing a real local SMTP server.

Posts' export file comes from an httpx MockTransport that answers as posts' internal API does
(`GET /exports/{task_id}/file` with a signed X-User-Id: 200 JSON, 409 while running, 404 otherwise,
401 unsigned).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from microblog_dev.embedded_postgres import free_port
from microblog_dev.mailsink import MailSink
from microblog_shared.events import MessageSent, MessagesRead, UserRegistered
from microblog_shared.http.auth import caller_signature_valid
from microblog_shared.read.projection import ProjectionRunner
from microblog_testkit.publishing import EventPublisher
from notifier.adapters.posts import PostsExports
from notifier.adapters.smtp import SmtpServer
from notifier.app import create_app
from notifier.mailer import Mailer
from notifier.projection import NotifierProjection
from notifier.settings import NotifierSettings

ADMIN = "admin@example.com"


def now() -> datetime:
    return datetime.now(UTC)


class Exports:
    """Finished exports, served as posts' internal API serves them."""

    def __init__(self, secret: str) -> None:
        self.secret = secret  # posts believes only a caller signed with the internal secret
        self.files: dict[str, tuple[int, list[dict]]] = {}
        self.running: set[str] = set()

    def handler(self, request: httpx.Request) -> httpx.Response:
        user, signature = request.headers.get("X-User-Id", ""), request.headers.get("X-Caller-Signature")
        if not caller_signature_valid(user, request.headers.get("X-Session-Id"), signature, self.secret):
            return httpx.Response(401, json={"error": "Unauthorized"})
        task_id = request.url.path.split("/")[2]
        if task_id in self.running:
            return httpx.Response(409, json={"error": "Conflict"})
        owner, posts = self.files.get(task_id, (None, None))
        if owner is None or request.headers.get("X-User-Id") != str(owner):
            return httpx.Response(404, json={"error": "Not Found"})
        return httpx.Response(200, json={"posts": posts})


class Notifier:
    """Drives the notifier through events and its API, and reads the mail it sent."""

    def __init__(self, app, client, events: EventPublisher, sink: MailSink, exports: Exports) -> None:
        self.app, self.client, self.events, self.sink, self.exports = app, client, events, sink, exports
        self.last_token: str | None = None
        self.stream_tokens: dict[str, str] = {}

    async def emit(self, stream_id: str, event):
        envelope = await self.events.emit(stream_id, event)
        self.last_token = self.stream_tokens[stream_id] = EventPublisher.token(envelope)
        return envelope

    async def register(self, user_id: int, name: str) -> None:
        await self.emit(
            f"user-{user_id}",
            UserRegistered(user_id=user_id, username=name, email=f"{name}@example.com", registered_at=now()),
        )

    async def message(self, message_id: int, sender: int, recipient: int):
        return await self.emit(
            f"inbox-{recipient}",
            MessageSent(message_id=message_id, sender_id=sender, recipient_id=recipient, body="hi", sent_at=now()),
        )

    async def read_inbox(self, user_id: int, up_to: int):
        return await self.emit(f"inbox-{user_id}", MessagesRead(user_id=user_id, read_at=now(), up_to_message_id=up_to))

    async def notifications(self, user_id: int, token: str | None = None, **params) -> httpx.Response:
        headers = {"X-User-Id": str(user_id)}
        if token or self.last_token:
            headers["X-Consistency-Token"] = token or self.last_token
        response = await self.client.get("/notifications", params=params, headers=headers)
        if response.status_code == 200 and "X-Consistency-Token" in headers:
            assert response.headers["X-Consistency-Reached"] == "true"
        return response

    async def settled(self) -> None:
        """The projection has applied every event emitted: the last one of each stream, since on
        Kafka the streams' topics are consumed side by side and one can run ahead of another."""
        for token in self.stream_tokens.values():
            assert (await self.notifications(0, token=token)).status_code == 200

    async def mails(self, count: int, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while len(received := self.sink.messages()) < count:
            assert time.monotonic() < deadline, f"{len(received)} of {count} mails arrived"
            await asyncio.sleep(0.02)
        return received

    async def delivered(self, timeout: float = 15.0) -> list:
        """The outbox once nothing in it is queued any more (a mail reaches SMTP before its row commits)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = await self.outbox()
            if all(row.status != "queued" for row in rows):
                return rows
            assert time.monotonic() < deadline, "mail still queued"
            await asyncio.sleep(0.02)

    async def outbox(self) -> list:
        async with self.app.state.engine.connect() as conn:
            return (await conn.exec_driver_sql("SELECT * FROM public.mail_outbox ORDER BY id")).all()


@pytest.fixture
async def sink(tmp_path):
    mail_sink = MailSink(tmp_path / "mail")
    await mail_sink.start(port=free_port())
    yield mail_sink
    await mail_sink.stop()


def notifier_settings(url: str, smtp_port: int, **overrides) -> NotifierSettings:
    values = dict(
        environment="test",
        database_url=url,
        smtp_port=smtp_port,
        admins=ADMIN,
        public_url="https://microblog.example",
        consistency_wait_seconds=5.0,
        mail_backoff_seconds=0.1,
        mail_backoff_cap_seconds=0.4,
        mail_max_attempts=4,
    )
    return NotifierSettings(**{**values, **overrides})


@pytest.fixture
async def make_notifier(migrated_database, service_client, bus, sink):
    """Factory: a notifier on a fresh database with its projector and mailer running."""
    running: list = []

    async def make(**overrides) -> Notifier:
        settings = notifier_settings(migrated_database("notifier"), sink.port, **overrides)
        app = create_app(settings)
        await app.state.read_model.start()
        client = await service_client(app)
        exports = Exports(settings.internal_secret)
        transport = httpx.MockTransport(exports.handler)
        posts = PostsExports(httpx.AsyncClient(transport=transport, base_url="http://posts"), settings.internal_secret)
        runner = ProjectionRunner(NotifierProjection.from_settings(settings), app.state.engine, bus, batch_size=100)
        mailer = Mailer(app.state.engine, SmtpServer(settings), posts, settings.mail_sender, settings.retry_policy)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(mailer.run(stop))]
        running.append((stop, tasks, app, posts))
        notifier = Notifier(app, client, EventPublisher(bus), sink, exports)
        notifier.settings, notifier.mailer = settings, mailer
        return notifier

    yield make
    for stop, tasks, app, posts in running:
        stop.set()
        await asyncio.gather(*tasks)
        await posts.close()
        await app.state.waiter.close()
        await app.state.read_model.dispose()


@pytest.fixture
async def notifier(make_notifier) -> Notifier:
    return await make_notifier()


@pytest.fixture
def soon():
    return lambda minutes=10: now() + timedelta(minutes=minutes)
