"""POST /api/translate: Microsoft Translator behind the gateway (httpx.MockTransport: no such server here)."""

import json

import httpx
import pytest

from gateway.app import create_app
from gateway.translation import MicrosoftTranslator
from microblog_shared.http.auth import issue_access_token

SECRET = "t" * 40
AUTH = {"Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 60)}"}


@pytest.fixture
async def make_gateway(gateway_settings, service_client):
    async def make(translator=None):
        app = create_app(
            gateway_settings(jwt_secret=SECRET),
            translator=translator,
        )
        return await service_client(app)

    return make


def microsoft(handler) -> MicrosoftTranslator:
    return MicrosoftTranslator("the-key", "westeurope", transport=httpx.MockTransport(handler))


async def test_without_a_key_translation_is_a_clear_503(make_gateway):
    gateway = await make_gateway()
    answer = await gateway.post(
        "/api/translate", json={"text": "Hola", "source_language": "es", "dest_language": "en"}, headers=AUTH
    )
    assert answer.status_code == 503
    assert "MICROBLOG_TRANSLATOR_KEY" in answer.json()["message"]


async def test_a_text_goes_to_microsoft_translator_and_comes_back_translated(make_gateway):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"translations": [{"text": "Hello, world", "to": "en"}]}])

    gateway = await make_gateway(microsoft(handler))
    answer = await gateway.post(
        "/api/translate", json={"text": "Hola, mundo", "source_language": "es", "dest_language": "en"}, headers=AUTH
    )
    assert answer.status_code == 200
    assert answer.json() == {"text": "Hello, world"}
    (request,) = seen
    assert request.url.path == "/translate"
    assert dict(request.url.params) == {"api-version": "3.0", "from": "es", "to": "en"}
    assert request.headers["Ocp-Apim-Subscription-Key"] == "the-key"
    assert request.headers["Ocp-Apim-Subscription-Region"] == "westeurope"
    assert json.loads(request.content) == [{"Text": "Hola, mundo"}]


async def test_an_empty_source_language_lets_the_translator_detect_it(make_gateway):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        return httpx.Response(200, json=[{"translations": [{"text": "Bonjour", "to": "fr"}]}])

    gateway = await make_gateway(microsoft(handler))
    answer = await gateway.post("/api/translate", json={"text": "Hello", "dest_language": "fr"}, headers=AUTH)
    assert answer.json() == {"text": "Bonjour"}
    assert seen == [{"api-version": "3.0", "to": "fr"}]


@pytest.mark.parametrize(
    "upstream",
    [
        lambda request: httpx.Response(401, json={"error": {"code": 401000, "message": "invalid key"}}),
        lambda request: httpx.Response(200, json={"unexpected": True}),
        lambda request: httpx.Response(200, content=b"not json"),
    ],
)
async def test_a_failing_translator_is_a_503_not_a_500(make_gateway, upstream):
    gateway = await make_gateway(microsoft(upstream))
    answer = await gateway.post("/api/translate", json={"text": "Hola", "dest_language": "en"}, headers=AUTH)
    assert answer.status_code == 503
    assert answer.json()["message"] == "the translation service failed, try again later"


async def test_an_unreachable_translator_is_a_503(make_gateway):
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    gateway = await make_gateway(microsoft(unreachable))
    answer = await gateway.post("/api/translate", json={"text": "Hola", "dest_language": "en"}, headers=AUTH)
    assert answer.status_code == 503
    assert "unreachable" in answer.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": "", "dest_language": "en"},
        {"text": "x" * 1401, "dest_language": "en"},
        {"text": "Hola"},
        {"text": "Hola", "dest_language": "english please"},
        {"text": "Hola", "dest_language": "en", "source_language": "xx123 es"},
        {"text": 5, "dest_language": "en"},
    ],
)
async def test_bad_translation_requests_are_400_and_reach_no_translator(make_gateway, body):
    def never(request):  # pragma: no cover - must not be called
        raise AssertionError("the translator was called")

    gateway = await make_gateway(microsoft(never))
    answer = await gateway.post("/api/translate", json=body, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "Bad Request"


async def test_translation_needs_a_token(make_gateway):
    gateway = await make_gateway()
    answer = await gateway.post("/api/translate", json={"text": "Hola", "dest_language": "en"})
    assert answer.status_code == 401
