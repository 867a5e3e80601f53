"""The HTTP kit every service shares: error shapes, correlation ids, health, JSON logs."""

import io
import json
import logging

import httpx
import pytest
from fastapi import HTTPException
from sqlalchemy.exc import OperationalError

from microblog_shared.http.app import create_service_app
from microblog_shared.http.pagination import PageParams, collection, decode_cursor, encode_cursor
from microblog_shared.runtime import context
from microblog_shared.runtime.logs import JsonFormatter
from microblog_shared.runtime.settings import Settings
from microblog_shared.write.eventstore import ConcurrencyError, ReservationTaken


@pytest.fixture
async def client():
    healthy = {"db": True}

    async def database():
        if not healthy["db"]:
            raise ConnectionError("database is down")

    app = create_service_app("test", "test", [database])

    @app.get("/conflict")
    async def conflict():
        raise ConcurrencyError("post-1", 1, 2)

    @app.get("/taken")
    async def taken():
        raise ReservationTaken("username", "ada")

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals")

    @app.get("/db-down")
    async def db_down():
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    @app.get("/gone")
    async def gone():
        raise HTTPException(410, "it went away")

    @app.get("/who")
    async def who():
        return {"correlation_id": context.correlation_id.get()}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    ) as http:
        http.healthy = healthy
        yield http


async def test_domain_errors_become_json_4xx(client):
    assert (await client.get("/conflict")).status_code == 409
    assert (await client.get("/conflict")).json()["error"] == "Conflict"
    assert (await client.get("/taken")).json() == {"error": "Bad Request", "message": "username is already taken"}
    assert (await client.get("/gone")).json() == {"error": "Gone", "message": "it went away"}
    assert (await client.get("/nowhere")).json() == {"error": "Not Found"}


async def test_a_database_outage_is_a_503_to_retry_not_a_500(client):
    response = await client.get("/db-down")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {
        "error": "Service Unavailable",
        "message": "the database is unavailable, try again shortly",
    }


async def test_unexpected_errors_are_a_bare_500_without_internals(client):
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}


async def test_the_correlation_id_is_taken_from_the_request_or_made_up(client):
    given = await client.get("/who", headers={"X-Correlation-ID": "abc-123"})
    assert given.json() == {"correlation_id": "abc-123"}
    assert given.headers["X-Correlation-ID"] == "abc-123"
    made = await client.get("/who")
    assert len(made.json()["correlation_id"]) == 32
    assert made.headers["X-Correlation-ID"] == made.json()["correlation_id"]


async def test_readiness_reports_failing_checks(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    client.healthy["db"] = False
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failures"] == ["database: database is down"]
    assert (await client.get("/healthz")).status_code == 200
    assert "microblog_http_request_seconds" in (await client.get("/metrics")).text


def test_log_lines_are_json_with_the_correlation_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("posts-api"))
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    token = context.correlation_id.set("cid-9")
    try:
        logger.warning("hello %s", "world")
    finally:
        context.correlation_id.reset(token)
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "hello world"
    assert entry["correlation_id"] == "cid-9"
    assert entry["service"] == "posts-api"
    assert entry["level"] == "warning"


def test_collections_link_their_neighbour_pages():
    page = collection(["a"], PageParams(page=2, per_page=10), 25, "/api/x", q="s")
    assert page["_meta"] == {"page": 2, "per_page": 10, "total_pages": 3, "total_items": 25, "next_after": None}
    assert page["_links"] == {
        "self": "/api/x?q=s&page=2&per_page=10",
        "next": "/api/x?q=s&page=3&per_page=10",
        "prev": "/api/x?q=s&page=1&per_page=10",
    }
    empty = collection([], PageParams(page=1, per_page=10), 0, "/api/x")
    assert empty["_meta"]["total_pages"] == 0 and empty["_links"]["next"] is None


def test_keyset_cursors_round_trip_and_link_the_next_page():
    cursor = encode_cursor("2026-11-24T12:00:00+00:00", 42)
    assert decode_cursor(cursor) == ["2026-11-24T12:00:00+00:00", 42]
    page = collection(["a", "b"], PageParams(page=1, per_page=2, after=cursor), 9, "/api/x", next_after="NEXT")
    assert page["_meta"]["next_after"] == "NEXT"
    assert page["_links"]["next"] == "/api/x?after=NEXT&per_page=2"
    last = collection(["a"], PageParams(page=1, per_page=2, after=cursor), 9, "/api/x", next_after="NEXT")
    assert last["_links"]["next"] is None


@pytest.mark.parametrize("raw", ["%%%", "bm90IGpzb24", encode_cursor()[:0] or "W10", "eyJhIjoxfQ"])
def test_malformed_cursors_are_the_clients_error(raw):
    with pytest.raises(HTTPException) as raised:
        decode_cursor(raw)
    assert raised.value.status_code == 400


def test_settings_come_from_the_environment_and_refuse_unsafe_production(monkeypatch):
    monkeypatch.setenv("MICROBLOG_BUS", "kafka")
    monkeypatch.setenv("MICROBLOG_BUS_PARTITIONS", "12")
    settings = Settings(environment="test")
    assert (settings.bus, settings.bus_partitions) == ("kafka", 12)
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(environment="production", internal_secret="y" * 40)
    with pytest.raises(ValueError, match="INTERNAL_SECRET"):
        Settings(environment="production", jwt_secret="x" * 40)
    with pytest.raises(ValueError, match="INTERNAL_SECRET"):
        Settings(environment="test", internal_secret="")
    assert Settings(environment="production", jwt_secret="x" * 40, internal_secret="y" * 40).metrics_port == 0
