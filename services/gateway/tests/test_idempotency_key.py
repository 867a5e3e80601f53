"""Idempotency-Key on POST /api/posts: checked here, kept by the posts service (its own tests show the rest)."""

import json

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import backends_from, create_app
from gateway.backends import Backend, Upstream
from microblog_shared.http.auth import issue_access_token

SECRET = "i" * 40
AUTH = {"Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 60)}"}


class KeyedPosts(Backend):
    """The posts backend answering 422 (a key reused with another body); `keys` records the keys it got."""

    def __init__(self) -> None:
        super().__init__("posts", "http://posts", 1.0, 1.0, secret="i" * 40)
        self.keys: list = []

    async def call(self, method, path, request=None, caller=None, idempotency_key=None, **kwargs):
        self.keys.append(idempotency_key)
        body = {"error": "Unprocessable Entity", "message": "this Idempotency-Key was sent with another body"}
        headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
        return Upstream(422, headers, json.dumps(body).encode())


@pytest.fixture
async def gateway(gateway_settings, service_client):
    settings = gateway_settings(jwt_secret=SECRET)
    backends = backends_from(settings)
    backends.posts = KeyedPosts()
    client = await service_client(create_app(settings, backends=backends))
    client.posts = backends.posts
    return client


async def test_the_key_is_passed_to_the_posts_service_and_its_refusal_back(gateway):
    response = await gateway.post("/api/posts", json={"body": "hi"}, headers={**AUTH, "Idempotency-Key": "k 1"})
    assert response.status_code == 422
    assert response.json()["message"] == "this Idempotency-Key was sent with another body"
    await gateway.post("/api/posts", json={"body": "hi"}, headers=AUTH)
    assert gateway.posts.keys == ["k 1", None]


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"tab\there"])
async def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_400_before_posts_is_called(gateway, key):
    response = await gateway.post("/api/posts", json={"body": "hi"}, headers={**AUTH, "Idempotency-Key": key})
    assert response.status_code == 400
    assert "idempotency-key" in response.json()["message"].lower()
    assert gateway.posts.keys == []
