"""The gateway's own rules: bearer auth, error shapes, readiness, OpenAPI (backends are down here)."""

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gateway.app import create_app
from microblog_shared.http.auth import issue_access_token

SECRET = "k" * 40


@pytest.fixture
async def gateway(gateway_settings, service_client):
    settings = gateway_settings(jwt_secret=SECRET)
    return await service_client(create_app(settings))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("nonsense"),
        bearer(issue_access_token(1, "s1", "another secret" * 3, 60)),
        bearer(jwt.encode({"sub": "1", "exp": int(time.time()) - 10}, SECRET, algorithm="HS256")),
        bearer(jwt.encode({"sub": "1"}, SECRET, algorithm="HS256")),
        {"Authorization": "Basic dTpw"},
    ],
)
async def test_protected_routes_need_a_valid_unexpired_bearer_token(gateway, headers):
    response = await gateway.post("/api/posts", json={"body": "hi"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_unreachable_service_is_a_503_json_error(gateway):
    response = await gateway.post(
        "/api/posts", json={"body": "hi"}, headers=bearer(issue_access_token(1, "s1", SECRET, 5))
    )
    assert response.status_code == 503
    assert response.json() == {
        "error": "Service Unavailable",
        "message": "the posts service is unavailable, try again shortly",
    }


async def test_readiness_fails_while_any_service_behind_is_down(gateway):
    assert (await gateway.get("/healthz")).status_code == 200
    response = await gateway.get("/readyz")
    assert response.status_code == 503
    backends = gateway._transport.app.state.backends.all()
    assert len(response.json()["failures"]) == len(backends) + 1  # every service and the revoked-session list


async def test_input_is_validated_before_any_service_is_called(gateway):
    response = await gateway.post("/api/users", json={"username": "x", "about_me": "x" * 141})
    assert response.status_code == 400
    assert "about_me" in response.json()["message"]
    response = await gateway.post("/api/users", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    response = await gateway.get("/api/users/abc/posts", headers=bearer(issue_access_token(1, "s1", SECRET, 5)))
    assert response.status_code == 400


async def test_the_openapi_document_describes_the_public_api(gateway):
    spec = (await gateway.get("/api/openapi.json")).json()
    assert spec["info"]["title"] == "microblog API"
    assert "HTTPBasic" in spec["components"]["securitySchemes"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert "/healthz" not in spec["paths"]
    assert (await gateway.get("/api/docs")).status_code == 200


async def test_login_and_registration_attempts_are_rate_limited(gateway_settings, service_client):
    settings = gateway_settings(jwt_secret=SECRET, auth_attempts_per_minute=3)
    gateway = await service_client(create_app(settings))
    statuses = [(await gateway.post("/api/tokens", auth=("a", "b"))).status_code for _ in range(4)]
    assert statuses == [503, 503, 503, 429]
    limited = await gateway.post("/api/tokens", auth=("a", "b"))
    assert limited.json() == {"error": "Too Many Requests", "message": "too many attempts, try again later"}
    assert int(limited.headers["Retry-After"]) > 0
    assert (await gateway.post("/api/users", json={})).status_code == 503  # another route, its own budget


async def test_a_revoked_session_is_refused_at_once(gateway):
    token = issue_access_token(7, "session-7", SECRET, 5)
    gateway._transport.app.state.revoked.revoke("session-7", datetime.now(UTC) + timedelta(minutes=5))
    response = await gateway.get("/api/timeline", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["message"] == "the token has been revoked"


async def test_a_token_verified_before_its_session_is_revoked_is_refused_at_once(gateway):
    token = issue_access_token(7, "session-8", SECRET, 5)
    assert (await gateway.get("/api/timeline", headers=bearer(token))).status_code == 503  # past auth: timeline is down
    gateway._transport.app.state.revoked.revoke("session-8", datetime.now(UTC) + timedelta(minutes=5))
    response = await gateway.get("/api/timeline", headers=bearer(token))
    assert (response.status_code, response.json()["message"]) == (401, "the token has been revoked")


async def test_a_token_verified_before_it_expired_is_refused_once_it_has(gateway):
    expires = int(time.time()) + 2
    token = jwt.encode({"sub": "7", "sid": "session-9", "exp": expires}, SECRET, algorithm="HS256")
    assert (await gateway.get("/api/timeline", headers=bearer(token))).status_code == 503
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.1)
    response = await gateway.get("/api/timeline", headers=bearer(token))
    assert (response.status_code, response.json()["message"]) == (401, "the token is invalid or expired")


async def test_only_owners_change_profiles_and_passwords(gateway):
    headers = bearer(issue_access_token(1, "s1", SECRET, 5))
    assert (await gateway.put("/api/users/2", json={"about_me": "x"}, headers=headers)).status_code == 403
    assert (
        await gateway.post(
            "/api/users/2/password", json={"current_password": "a", "new_password": "b"}, headers=headers
        )
    ).status_code == 403


async def test_huge_bodies_are_refused_before_anything_reads_them(gateway):
    response = await gateway.post("/api/posts", content=b"x" * 100_000, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "Request Entity Too Large"


# --- what no service could store or have issued is refused at the edge ------------------

SUSAN = bearer(issue_access_token(1, "s1", SECRET, 60))
COLLECTIONS = [
    "/api/users",
    "/api/users/1/followers",
    "/api/users/1/followed",
    "/api/users/1/posts",
    "/api/timeline",
    "/api/explore",
    "/api/messages",
]


def raw_cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/api/posts", {"body": "a\x00b"}),
        ("PUT", "/api/posts/1", {"body": "a\x00b"}),
        ("POST", "/api/users/2/messages", {"body": "a\x00b"}),
        ("POST", "/api/users", {"username": "a\x00b", "email": "a@example.com", "password": "pw"}),
        ("PUT", "/api/users/1", {"about_me": "bell\x07"}),
        ("POST", "/api/translate", {"text": "a\x00b", "dest_language": "en"}),
        ("POST", "/api/reset_password_request", {"email": "a\x00@example.com"}),
        ("PUT", "/api/tokens", {"refresh_token": "a\x00b"}),
        ("GET", "/api/users/by-name/a%00b", None),
        ("GET", "/api/search?q=a%00b", None),
    ],
)
async def test_a_control_character_in_any_text_is_400_before_any_service_is_called(gateway, method, path, body):
    response = await gateway.request(method, path, json=body, headers=SUSAN)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Bad Request"
    assert "control characters are not allowed" in response.json()["message"]


@pytest.mark.parametrize("cursor", [raw_cursor([True]), raw_cursor([10**30]), "c29tZSByYW5kb20gYnl0ZXM"])
async def test_a_cursor_no_service_issued_is_400_on_every_collection(gateway, cursor):
    for path in COLLECTIONS:
        response = await gateway.get(path, params={"after": cursor}, headers=SUSAN)
        assert response.status_code == 400, (path, response.text)
        assert response.json() == {"error": "Bad Request", "message": "malformed cursor in 'after'"}
