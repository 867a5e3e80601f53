"""Pytest fixtures shared by every test ring: real PostgreSQL, Kafka and Elasticsearch, bus adapters.

Loaded for the whole repository with `-p microblog_testkit.plugin` (root pyproject).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from microblog_dev.embedded_postgres import EmbeddedPostgres

if TYPE_CHECKING:
    from microblog_shared.http.identity_client import IdentityUsers
    from microblog_testkit.identity_process import IdentityProcess

_REPORT_KEY = pytest.StashKey[list[str]]()
_database_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORT_KEY] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = config.stash.get(_REPORT_KEY, [])
    if lines:
        terminalreporter.section("measurements")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def report(request):
    """`report("...")`: a line printed in the run's measurements section."""
    return request.config.stash[_REPORT_KEY].append


@pytest.fixture(scope="session")
def report_session(request):
    """Like `report`, for session-scoped fixtures."""
    return request.config.stash[_REPORT_KEY].append


@pytest.fixture(scope="session")
def pg(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    """One embedded PostgreSQL server for the whole test session."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
    server.start()
    yield server
    server.stop()


def _new_database(pg: EmbeddedPostgres, prefix: str) -> str:
    return pg.create_database(f"{prefix}_{os.getpid()}_{next(_database_counter)}")


@pytest.fixture
def fresh_database(pg):
    """Factory: a new, empty database on the session server; returns its URL."""

    def make(prefix: str = "t") -> str:
        return _new_database(pg, prefix)

    return make


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory) -> Iterator[str]:
    """A real single-node Apache Kafka broker (jars from Maven Central) for the session."""
    from microblog_testkit.kafka import LocalKafka, missing_tools

    reason = missing_tools()
    if reason:
        if os.environ.get("MICROBLOG_REQUIRE_KAFKA") == "1":
            pytest.fail(f"Kafka is required (MICROBLOG_REQUIRE_KAFKA=1) but {reason}")
        pytest.skip(f"real Kafka unavailable: {reason}")
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"))
    bootstrap = broker.start()
    yield bootstrap
    broker.stop()


@pytest.fixture(scope="session")
def elasticsearch_url(tmp_path_factory, report_session) -> Iterator[str]:
    """A real single-node Elasticsearch (jars from Maven Central) for the session; its base URL."""
    from microblog_testkit.elasticsearch import LocalElasticsearch, missing_tools

    reason = missing_tools()
    if reason:
        if os.environ.get("MICROBLOG_REQUIRE_ELASTICSEARCH") == "1":
            pytest.fail(f"Elasticsearch is required (MICROBLOG_REQUIRE_ELASTICSEARCH=1) but {reason}")
        pytest.skip(f"real Elasticsearch unavailable: {reason}")
    node = LocalElasticsearch(tmp_path_factory.mktemp("elasticsearch"))
    url = node.start()
    report_session(
        f"elasticsearch: node answering in {node.start_seconds:.1f} s "
        f"(of which fetch/assembly {node.fetch_seconds:.1f} s)"
    )
    yield url
    node.stop()


@pytest.fixture(params=["postgres", pytest.param("kafka", marks=pytest.mark.kafka)])
def bus_kind(request) -> str:
    return request.param


@pytest.fixture
async def bus_factory(request, bus_kind, fresh_database):
    """Factory of EventBus instances of one adapter, all sharing one backing log."""
    from microblog_shared.bus import create_bus
    from microblog_shared.runtime.settings import Settings

    if bus_kind == "kafka":  # one broker for the session: each test gets topics of its own
        overrides = {
            "bus": "kafka",
            "kafka_bootstrap": request.getfixturevalue("kafka_bootstrap"),
            "bus_namespace": f"t{uuid.uuid4().hex[:8]}.",
        }
    else:
        overrides = {"bus": "postgres", "bus_database_url": fresh_database("bus")}
    settings = Settings(environment="test", bus_partitions=4, **overrides)
    opened = []

    async def make():
        bus = create_bus(settings)
        opened.append(bus)
        return bus

    yield make
    for bus in opened:
        await bus.close()


@pytest.fixture
async def bus(bus_factory):
    return await bus_factory()


@pytest.fixture
def topic() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def store_engine(fresh_database):
    """An engine on a fresh database holding the event store tables."""
    from microblog_shared.write import eventstore
    from microblog_testkit.databases import engine_with

    engine = await engine_with(fresh_database("store"), eventstore.SCHEMA)
    await _create_sequence(engine, "test_ids")
    yield engine
    await engine.dispose()


async def _create_sequence(engine, name: str) -> None:
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name}"))


@pytest.fixture
def migrated_database(fresh_database):
    """Factory: a fresh database migrated with a service package's Alembic migrations."""
    from microblog_shared.runtime.migrations import upgrade

    def make(package: str) -> str:
        url = fresh_database(package)
        upgrade(package, url)
        return url

    return make


@pytest.fixture
async def service_client():
    """Factory: an httpx client calling a FastAPI app in-process (its engine disposed afterwards).

    It signs a request's X-User-Id (and X-Session-Id) with the app's internal secret, as the gateway
    does, unless the request carries an X-Caller-Signature of its own.
    """
    import httpx

    from microblog_shared.http.auth import SESSION_HEADER, SIGNATURE_HEADER, USER_HEADER, sign_caller

    apps = []

    async def make(app):
        apps.append(app)

        async def sign(request: httpx.Request) -> None:
            if USER_HEADER in request.headers and SIGNATURE_HEADER not in request.headers:
                secret = app.state.settings.internal_secret
                user, session = request.headers[USER_HEADER], request.headers.get(SESSION_HEADER)
                request.headers[SIGNATURE_HEADER] = sign_caller(user, session, secret)

        transport = httpx.ASGITransport(app=app)
        return httpx.AsyncClient(transport=transport, base_url="http://service", event_hooks={"request": [sign]})

    yield make
    for app in apps:
        engine = getattr(app.state, "engine", None)
        if engine is not None:
            await engine.dispose()


@pytest.fixture(scope="session")
def identity_process(
    pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory, report_session: Callable[[str], None]
) -> Iterator[IdentityProcess]:
    """Identity's API as a real process (`python -m identity api`) on a database of its own."""
    from microblog_testkit.identity_process import IdentityProcess

    log_path = tmp_path_factory.mktemp("identity") / "identity.log"
    process = IdentityProcess(_new_database(pg, "identity"), log_path)
    process.start()
    report_session(f"identity: process answering in {process.start_seconds:.1f} s (migrations included)")
    yield process
    process.stop()


@pytest.fixture
def identity(identity_process: IdentityProcess) -> str:
    """The base URL of a real identity process that knows no user yet."""
    identity_process.empty()
    return identity_process.url


@pytest.fixture
async def register(identity: str) -> AsyncIterator[Callable[[str], Awaitable[int]]]:
    """`await register("susan")`: a real account in identity (POST /users); returns its id."""
    import httpx

    async with httpx.AsyncClient(base_url=identity) as client:

        async def make(name: str) -> int:
            account = {"username": name, "email": f"{name}@example.com", "password": "a long password"}
            response = await client.post("/users", json=account)
            assert response.status_code == 201, response.text
            user_id: int = response.json()["id"]
            return user_id

        yield make


@pytest.fixture
async def unreachable_identity() -> AsyncIterator[IdentityUsers]:
    """A directory of users asking an identity that nobody runs (a local port nobody listens on)."""
    from microblog_shared.http.identity_client import IdentityUsers
    from microblog_testkit.identity_process import unused_address

    users = IdentityUsers.at(unused_address(), timeout_seconds=2)
    yield users
    await users.close()
