"""The gateway's write limits on a whole platform, started here with low limits set through the environment.

Each test speaks from its own loopback address (127.0.0.x), so each has an address budget of its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from microblog_testkit.devstack import DevStackProcess, env_url

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(env_url()), reason="starts its own stack with low limits; MICROBLOG_E2E_URL names another"),
]

LIMITS = {
    "MICROBLOG_WRITES_PER_ACCOUNT": "4",
    "MICROBLOG_WRITES_PER_ADDRESS": "8",
    "MICROBLOG_WRITE_WINDOW_SECONDS": "600",
    "MICROBLOG_PASSWORD_ATTEMPTS_PER_MINUTE": "2",
}


@pytest.fixture(scope="module", params=["postgres", pytest.param("kafka", marks=pytest.mark.kafka)])
def limited(request, tmp_path_factory, report_session) -> Iterator[str]:
    """The gateway of a `microblog dev` whose limits are LIMITS."""
    external = {}
    if request.param == "kafka":
        external = {
            "kafka_bootstrap": request.getfixturevalue("kafka_bootstrap"),
            "database_url": request.getfixturevalue("pg").url(),
        }
    dev = DevStackProcess(tmp_path_factory.mktemp(f"limited-{request.param}"), request.param, env=LIMITS, **external)
    dev.start()
    report_session(f"microblog dev with low limits ({request.param} bus): ready in {dev.start_seconds:.1f} s")
    yield dev.url
    assert dev.stop() == 0, dev.logs()


_addresses = iter(range(2, 250))


@pytest.fixture
def client(limited) -> Iterator[httpx.Client]:
    """A client on a loopback address no other test uses."""
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{next(_addresses)}")
    with httpx.Client(base_url=limited, timeout=15, transport=transport) as http:
        yield http


def sign_up(client: httpx.Client, password: str = "a long password") -> tuple[int, dict]:
    """A new user (two writes from the address: registration and sign-in) and their bearer header."""
    name = f"u{uuid.uuid4().hex[:10]}"
    created = client.post("/api/users", json={"username": name, "email": f"{name}@example.com", "password": password})
    assert created.status_code == 201, created.text
    token = client.post("/api/tokens", auth=(name, password))
    assert token.status_code == 200, token.text
    return created.json()["id"], {"Authorization": f"Bearer {token.json()['token']}"}


def remaining(response: httpx.Response) -> int:
    return int(response.headers["X-RateLimit-Remaining"])


def test_an_account_gets_its_writes_then_429_and_nothing_more_is_stored(client):
    user_id, auth = sign_up(client)
    posts = [client.post("/api/posts", json={"body": f"post {n}"}, headers=auth) for n in range(4)]
    assert [p.status_code for p in posts] == [201] * 4
    assert [remaining(p) for p in posts] == [3, 2, 1, 0]
    assert all(p.headers["X-RateLimit-Limit"] == "4" and 0 < int(p.headers["X-RateLimit-Reset"]) <= 600 for p in posts)

    refused = client.post("/api/posts", json={"body": "one too many"}, headers=auth)
    assert refused.status_code == 429
    assert refused.json()["error"] == "Too Many Requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    assert remaining(refused) == 0
    assert client.post(f"/api/users/{user_id}/follow", headers=auth).status_code == 429

    consistency = {**auth, "X-Consistency-Token": posts[-1].headers["X-Consistency-Token"]}
    deadline = time.monotonic() + 20
    while True:
        stored = client.get(f"/api/users/{user_id}/posts", headers=consistency)
        if stored.headers["X-Consistency-Reached"] == "true" or time.monotonic() > deadline:
            break
    assert [p["body"] for p in stored.json()["items"]] == ["post 3", "post 2", "post 1", "post 0"]
    assert "X-RateLimit-Limit" not in stored.headers  # reads are not limited


def test_an_address_gets_its_writes_whoever_writes(client):
    _, first = sign_up(client)
    _, second = sign_up(client)
    statuses = [client.post("/api/posts", json={"body": "mine"}, headers=who).status_code for who in (first, first)]
    statuses += [client.post("/api/posts", json={"body": "mine too"}, headers=second).status_code]
    last = client.post("/api/posts", json={"body": "mine too"}, headers=second)
    assert statuses == [201] * 3 and last.status_code == 201
    assert last.headers["X-RateLimit-Limit"] == "8" and remaining(last) == 0  # the account has 2 left
    refused = client.post("/api/posts", json={"body": "a fresh account, the same address"}, headers=second)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_password_guesses_are_limited_per_account(client):
    user_id, auth = sign_up(client)
    guess = {"current_password": "not it", "new_password": "another long password"}
    guesses = [client.post(f"/api/users/{user_id}/password", json=guess, headers=auth) for _ in range(3)]
    assert 429 not in [g.status_code for g in guesses[:2]]
    assert guesses[2].status_code == 429
    assert 0 < int(guesses[2].headers["Retry-After"]) <= 60
    # Still refused with the right password: the limit is on attempts, not on wrong ones.
    right = {"current_password": "a long password", "new_password": "another long password"}
    assert client.post(f"/api/users/{user_id}/password", json=right, headers=auth).status_code == 429


def test_a_huge_requested_consistency_wait_is_capped(client):
    _, auth = sign_up(client)
    post = client.post("/api/posts", json={"body": "waited for"}, headers=auth)
    topic, stream, _ = post.headers["X-Consistency-Token"].rsplit(":", 2)
    started = time.monotonic()
    read = client.get(
        f"/api/posts/{post.json()['id']}",
        headers={**auth, "X-Consistency-Token": f"{topic}:{stream}:999999", "X-Consistency-Timeout": "1000000000"},
    )
    assert read.status_code == 200
    assert read.headers["X-Consistency-Reached"] == "false"
    assert time.monotonic() - started < 6  # the gateway asks for MICROBLOG_CONSISTENCY_WAIT_SECONDS (2)
