"""Posts believes the X-User-Id the gateway forwards only with the gateway's signature over it.

These requests go through a plain client (the test kit's `service_client` signs, playing the
gateway), so what is sent here is exactly what any process that reaches posts' port could send.
"""

import time

import httpx
import pytest

from microblog_shared.http.auth import caller_headers, sign_caller
from microblog_shared.write.eventstore import EventStore

BODY = {"body": "Just deployed to production on a Friday. Wish me luck."}
EDIT = {"body": "Somebody else's words."}


@pytest.fixture
async def direct(posts):
    """A client of the same posts app that signs nothing by itself."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=posts.app), base_url="http://posts") as client:
        yield client


def secret_of(posts) -> str:
    return posts.app.state.settings.internal_secret


async def stored(posts) -> list:
    return await EventStore(posts.app.state.engine, "posts").read_all()


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "Unauthorized"
    assert "X-User-Id" in response.json()["message"]


def signed(user: str, signature: str | bytes, session: str | None = None) -> dict:
    return {"X-User-Id": user, "X-Caller-Signature": signature} | ({"X-Session-Id": session} if session else {})


async def test_an_unsigned_caller_is_refused_and_nothing_is_written(posts, direct):
    assert_refused(await direct.post("/posts", json=BODY, headers={"X-User-Id": "7"}))
    assert_refused(await direct.post("/exports", headers={"X-User-Id": "7", "X-Session-Id": "s1"}))
    assert await stored(posts) == []


async def test_a_signature_made_with_another_secret_is_refused(posts, direct):
    forged = sign_caller(7, None, "a guess at the secret, long enough to look real")
    assert_refused(await direct.post("/posts", json=BODY, headers=signed("7", forged)))
    assert await stored(posts) == []


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "nonsense",
        "12345",
        f"{int(time.time())}.",
        f"{int(time.time())}.{'0' * 64}",
        f"-1.{'a' * 64}",
        "9" * 500,
        f"²{int(time.time())}.{'0' * 64}".encode("latin-1"),  # isdigit() says yes, int() says no
    ],
)
async def test_a_malformed_signature_is_refused_not_a_crash(posts, direct, signature):
    assert_refused(await direct.post("/posts", json=BODY, headers=signed("7", signature)))
    assert await stored(posts) == []


@pytest.mark.parametrize("age", [61, 3600, -30])  # too old, long expired, from too far in the future
async def test_a_stale_or_future_signature_is_refused(posts, direct, age):
    stale = sign_caller(7, None, secret_of(posts), at=int(time.time()) - age)
    assert_refused(await direct.post("/posts", json=BODY, headers=signed("7", stale)))
    assert await stored(posts) == []


async def test_another_caller_s_signature_does_not_cover_a_changed_user_or_session(posts, direct):
    stranger = caller_headers(8, "s8", secret_of(posts))
    assert_refused(await direct.post("/posts", json=BODY, headers={**stranger, "X-User-Id": "7"}))
    assert_refused(await direct.post("/posts", json=BODY, headers={**stranger, "X-User-Id": "07"}))
    assert_refused(await direct.post("/posts", json=BODY, headers={**stranger, "X-Session-Id": "s7"}))
    assert await stored(posts) == []


async def test_the_gateway_s_signature_is_believed_and_a_forged_edit_changes_nothing(posts, direct):
    author = caller_headers(7, "s7", secret_of(posts))
    created = await direct.post("/posts", json=BODY, headers=author)
    assert created.status_code == 201, created.text
    assert created.json()["author"] == {"id": 7}

    assert_refused(await direct.put("/posts/1", json=EDIT, headers={"X-User-Id": "7"}))
    assert_refused(await direct.delete("/posts/1", headers={"X-User-Id": "7"}))
    assert [e.type for e in await stored(posts)] == ["PostCreated"]

    edited = await direct.put("/posts/1", json=EDIT, headers=caller_headers(7, "s7", secret_of(posts)))
    assert edited.status_code == 200, edited.text
    assert [e.type for e in await stored(posts)] == ["PostCreated", "PostEdited"]


async def test_a_signature_within_the_clock_skew_is_believed(posts, direct):
    ahead = sign_caller(7, None, secret_of(posts), at=int(time.time()) + 2)  # the gateway's clock runs ahead
    assert (await direct.post("/posts", json=BODY, headers=signed("7", ahead))).status_code == 201
