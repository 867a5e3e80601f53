"""Every write under /api is limited per account and per client address, and says how much is left.

The posts and identity services are stand-ins that store what reaches them, so a refused write
can be seen not to have arrived; the gateway runs in-process, every request from one address.
"""

import asyncio
import json

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import backends_from, create_app
from gateway.backends import Backend, Upstream
from microblog_shared.http.auth import issue_access_token

SECRET = "w" * 40
PROXY_SECRET = "p" * 40
JSON = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))


def bearer(user_id: int) -> dict:
    return {"Authorization": f"Bearer {issue_access_token(user_id, f's{user_id}', SECRET, 60)}"}


class Stored(Backend):
    """A service behind the gateway that keeps every write reaching it."""

    def __init__(self, name: str) -> None:
        super().__init__(name, f"http://{name}", 1.0, 1.0, secret="i" * 40)
        self.writes: list[tuple[str, str, dict | None]] = []

    async def call(self, method, path, request=None, caller=None, json=None, **kwargs):
        if path.endswith("/seen"):  # the gateway reporting its callers' activity
            return answer(204, None)
        if method == "GET":  # a post's author, asked while posts writes: not known here
            return answer(404, {"error": "Not Found"})
        self.writes.append((method, path, json))
        if path == "/posts":
            post = {"id": len(self.writes), "body": json["body"], "language": "", "timestamp": "2026-12-04T12:00:00Z"}
            return answer(201, post | {"author": {"id": caller.user_id}})
        if path.endswith("/password"):
            return answer(400, {"error": "Bad Request", "message": "the current password is wrong"})
        return answer(204, None)


def answer(status: int, body) -> Upstream:
    return Upstream(status, JSON, b"" if body is None else json.dumps(body).encode())


@pytest.fixture
def gateway(gateway_settings, service_client):
    async def make(**limits):
        settings = gateway_settings(jwt_secret=SECRET, trusted_proxy_secret=PROXY_SECRET, **limits)
        backends = backends_from(settings)
        backends.posts, backends.identity = Stored("posts"), Stored("identity")
        client = await service_client(create_app(settings, backends=backends))
        client.posts, client.identity = backends.posts, backends.identity
        return client

    return make


async def post(gateway, user_id: int, body: str = "hello", headers: dict | None = None):
    return await gateway.post("/api/posts", json={"body": body}, headers={**bearer(user_id), **(headers or {})})


def budget(response) -> tuple[int, int, int]:
    h = response.headers
    return int(h["X-RateLimit-Limit"]), int(h["X-RateLimit-Remaining"]), int(h["X-RateLimit-Reset"])


async def test_an_account_has_its_budget_of_writes_and_each_answer_says_what_is_left(gateway):
    client = await gateway(writes_per_account=3, writes_per_address=100)
    answers = [await post(client, 7, f"post {n}") for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [budget(a)[:2] for a in answers] == [(3, 2), (3, 1), (3, 0)]
    assert all(0 < budget(a)[2] <= 300 for a in answers)

    refused = await post(client, 7, "one too many")
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "Too Many Requests",
        "message": f"too many writes, try again in {refused.headers['Retry-After']} seconds",
    }
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    assert budget(refused) == (3, 0, int(refused.headers["Retry-After"]))
    assert [body for _, _, body in client.posts.writes] == [{"body": f"post {n}"} for n in range(3)]

    # Every kind of write spends from the same budget; another account has its own.
    assert (await client.delete("/api/posts/1", headers=bearer(7))).status_code == 429
    assert (await client.post("/api/users/8/follow", headers=bearer(7))).status_code == 429
    other = await post(client, 8)
    assert other.status_code == 201 and budget(other)[:2] == (3, 2)
    # Reads are not counted and not labelled.
    read = await client.get("/api/posts/1", headers=bearer(7))
    assert read.status_code == 503 and "X-RateLimit-Limit" not in read.headers


async def test_an_address_has_its_budget_whichever_accounts_write_from_it(gateway):
    client = await gateway(writes_per_account=100, writes_per_address=4)
    statuses = [(await post(client, user)).status_code for user in (1, 2, 3, 4, 5)]
    assert statuses == [201, 201, 201, 201, 429]
    # Without a valid token the write still spends from the address (and is refused here, not with a 401).
    assert (await client.post("/api/posts", json={"body": "x"})).status_code == 429
    assert (await client.post("/api/users", json={"username": "new"})).status_code == 429
    assert len(client.posts.writes) == 4 and client.identity.writes == []
    # Browsers behind the trusted proxy (the web UI) have a budget each; a forged header buys nothing.
    alice = {"X-Microblog-Proxy-Secret": PROXY_SECRET, "X-Forwarded-For": "203.0.113.7"}
    assert (await post(client, 6, headers=alice)).status_code == 201
    assert (await post(client, 6, headers={"X-Forwarded-For": "203.0.113.8"})).status_code == 429


async def test_the_answer_shows_the_tighter_budget_and_failed_writes_count_too(gateway):
    client = await gateway(writes_per_account=5, writes_per_address=3)
    first = await client.post("/api/posts", json={}, headers=bearer(1))  # refused here: still a write spent
    assert first.status_code == 400 and budget(first)[:2] == (3, 2)
    unauthorized = await client.post("/api/posts", json={"body": "x"}, headers={"Authorization": "Bearer nonsense"})
    assert unauthorized.status_code == 401 and budget(unauthorized)[:2] == (3, 1)


async def test_the_budget_is_whole_again_when_the_window_ends(gateway):
    client = await gateway(writes_per_account=2, writes_per_address=100, write_window_seconds=1.0)
    assert [(await post(client, 7)).status_code for _ in range(3)] == [201, 201, 429]
    refused = await post(client, 7)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 1
    await asyncio.sleep(1.05)
    again = await post(client, 7)
    assert again.status_code == 201 and budget(again)[:2] == (2, 1)
    assert len(client.posts.writes) == 3


async def test_password_guesses_are_limited_per_account(gateway):
    client = await gateway(password_attempts_per_minute=5)
    change = {"current_password": "guess", "new_password": "a new long password"}
    guesses = [await client.post("/api/users/7/password", json=change, headers=bearer(7)) for _ in range(3)]
    # A profile change carrying a password is a guess too (whatever the route then makes of it).
    with_password = {"email": "thief@example.com", "password": "guess"}
    guesses += [await client.put("/api/users/7", json=with_password, headers=bearer(7)) for _ in range(2)]
    assert 429 not in [g.status_code for g in guesses]
    refused = await client.post("/api/users/7/password", json=change, headers=bearer(7))
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert (
        refused.json()["message"]
        == f"too many password attempts, try again in {refused.headers['Retry-After']} seconds"
    )
    assert "X-RateLimit-Remaining" in refused.headers
    assert (await client.put("/api/users/7", json=with_password, headers=bearer(7))).status_code == 429
    assert [path for _, path, _ in client.identity.writes].count("/users/7/password") == 3
    # Other writes of the account, and another account's guesses, go on.
    assert (await client.put("/api/users/7", json={"about_me": "hi"}, headers=bearer(7))).status_code == 204
    other = await client.post("/api/users/8/password", json=change, headers=bearer(8))
    assert other.status_code == 400


async def test_password_guesses_are_limited_per_address(gateway):
    client = await gateway(password_attempts_per_minute=5, password_attempts_per_minute_per_address=7)
    change = {"current_password": "guess", "new_password": "a new long password"}
    statuses = [
        (await client.post(f"/api/users/{user}/password", json=change, headers=bearer(user))).status_code
        for user in (1, 1, 1, 2, 2, 2, 3, 3)
    ]
    assert statuses == [400] * 7 + [429]
    # Guesses without a valid token count against the address as well.
    assert (await client.post("/api/users/4/password", json=change)).status_code == 429
    browser = {"X-Microblog-Proxy-Secret": PROXY_SECRET, "X-Forwarded-For": "2001:db8::1"}
    assert (
        await client.post("/api/users/4/password", json=change, headers={**bearer(4), **browser})
    ).status_code == 400


async def test_the_openapi_document_declares_429_and_the_headers_on_every_write(gateway):
    client = await gateway()
    spec = (await client.get("/api/openapi.json")).json()
    writes = [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch", "delete")
    ]
    assert len(writes) >= 15
    for path, method, operation in writes:
        limited = operation["responses"]["429"]
        assert set(limited["headers"]) == {
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Retry-After",
        }
        assert limited["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        for code, response in operation["responses"].items():
            if code not in ("413", "500"):
                assert "X-RateLimit-Reset" in response["headers"], (path, method, code)
    reads = spec["paths"]["/api/timeline"]["get"]["responses"]
    assert "429" not in reads and "headers" not in reads["200"]
