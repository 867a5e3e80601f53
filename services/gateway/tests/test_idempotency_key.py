"""Idempotency-Key on every POST of the public API: checked here (400 before any service is called),
passed to the service that keeps it, its answers passed back. Identity is real for registration; the
services' own tests and tests/e2e/test_idempotency.py show the keeping itself."""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from microblog_shared.http.auth import issue_access_token

SECRET = "i" * 40
AUTH = {"Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 60)}"}
BASIC = {"Authorization": "Basic c3VzYW46YSBsb25nIHBhc3N3b3Jk"}
REFUSAL = {"error": "Unprocessable Entity", "message": "this Idempotency-Key was sent with another body"}

# Every POST route of the public API: (path, body, headers), and whether its service keeps the key.
KEPT = {
    "/api/posts": ({"body": "hi"}, AUTH),
    "/api/exports": (None, AUTH),
    "/api/users/8/messages": ({"body": "hi"}, AUTH),
    "/api/users": ({"username": "susan", "email": "susan@example.com", "password": "a long password"}, {}),
    "/api/reset_password_request": ({"email": "susan@example.com"}, {}),
}
HARMLESS = {
    "/api/users/8/follow": (None, AUTH),
    "/api/users/7/password": ({"current_password": "a long password", "new_password": "another one!"}, AUTH),
    "/api/reset_password": ({"token": "t", "password": "another one!"}, {}),
    "/api/tokens": (None, BASIC),
    "/api/translate": ({"text": "hola", "source_language": "es", "dest_language": "en"}, AUTH),
}
BAD_KEYS = [b"", b"x" * 256, "caf\u00e9".encode(), b"tab\there", b"nul\x00"]


@pytest.fixture
async def services():
    """Every service behind the gateway as one stand-in: refuses each call as a reused key, records its headers."""
    seen: list[tuple[str, str, dict]] = []

    async def refuse(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, dict(request.headers)))
        return web.json_response(REFUSAL, status=422)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), seen
    await server.close()


@pytest.fixture
async def gateway(gateway_settings, service_client, services):
    url, seen = services
    names = ("identity", "posts", "social_graph", "messaging")
    client = await service_client(create_app(gateway_settings(jwt_secret=SECRET, **{f"{n}_url": url for n in names})))
    client.seen = seen
    return client


def calls(gateway) -> list[tuple[str, dict]]:
    """The writes the services were asked for, but the note that the caller was seen (the gateway sends
    it aside); reads (a post's author, asked of identity while posts writes) aren't writes."""
    return [(path, headers) for method, path, headers in gateway.seen if method != "GET" and not path.endswith("/seen")]


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("path", [*KEPT, *HARMLESS])
async def test_a_bad_key_is_400_on_every_post_route_before_any_service_is_called(gateway, path, key):
    body, headers = {**KEPT, **HARMLESS}[path]
    response = await gateway.post(path, json=body, headers={**headers, "Idempotency-Key": key})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Bad Request"
    assert "idempotency-key" in response.json()["message"].lower()
    assert calls(gateway) == []


@pytest.mark.parametrize("path", KEPT)
async def test_the_key_goes_to_the_service_that_keeps_it_and_its_refusal_comes_back(gateway, path):
    body, headers = KEPT[path]
    response = await gateway.post(path, json=body, headers={**headers, "Idempotency-Key": "k 1"})
    assert (response.status_code, response.json()) == (422, REFUSAL)
    assert [headers.get("Idempotency-Key") for _, headers in calls(gateway)] == ["k 1"]


@pytest.mark.parametrize("path", HARMLESS)
async def test_a_good_key_is_accepted_where_a_retry_is_harmless_anyway(gateway, path):
    body, headers = HARMLESS[path]
    response = await gateway.post(path, json=body, headers={**headers, "Idempotency-Key": "k 1"})
    assert response.status_code != 400, response.text


async def test_the_openapi_document_names_the_key_on_every_post(gateway):
    spec = (await gateway.get("/api/openapi.json")).json()
    for path, operations in spec["paths"].items():
        if "post" in operations:
            names = [p["name"] for p in operations["post"].get("parameters", []) if p["in"] == "header"]
            assert "Idempotency-Key" in names, path
            assert "Idempotency-Key" in operations["post"]["description"], path


@pytest.fixture
async def real_identity_gateway(gateway_settings, service_client, identity):
    """The gateway before a real identity process (the timeline is down: answers come from the write)."""
    return await service_client(create_app(gateway_settings(jwt_secret=SECRET, identity_url=identity)))


async def test_a_retried_registration_answers_the_first_201_and_the_same_user(real_identity_gateway):
    body, _ = KEPT["/api/users"]
    headers = {"Idempotency-Key": "r-1"}
    first = await real_identity_gateway.post("/api/users", json=body, headers=headers)
    again = await real_identity_gateway.post("/api/users", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    other = await real_identity_gateway.post("/api/users", json={**body, "email": "x@example.com"}, headers=headers)
    assert other.status_code == 422 and "another body" in other.json()["message"]
    unkeyed = await real_identity_gateway.post("/api/users", json=body)
    assert (unkeyed.status_code, unkeyed.json()["message"]) == (400, "please use a different username")


async def test_a_retried_reset_request_answers_202_again(real_identity_gateway):
    body, _ = KEPT["/api/users"]
    await real_identity_gateway.post("/api/users", json=body)
    for _ in range(2):
        response = await real_identity_gateway.post(
            "/api/reset_password_request", json={"email": body["email"]}, headers={"Idempotency-Key": "p-1"}
        )
        assert response.status_code == 202
