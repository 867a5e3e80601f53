"""The OpenAPI document says what the gateway does (schemathesis checks it against a stack in
test_openapi_conformance.py; these are its rules read off the document, no backend needed)."""

import re

import pytest

from gateway.app import create_app
from microblog_shared.http.auth import issue_access_token

SECRET = "k" * 40


@pytest.fixture
async def gateway(gateway_settings, service_client):
    return await service_client(create_app(gateway_settings(jwt_secret=SECRET)))


@pytest.fixture
async def spec(gateway):
    return (await gateway.get("/api/openapi.json")).json()


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


async def test_invalid_input_is_documented_as_a_400_with_the_error_shape_not_fastapis_422(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for name, operation in operations(spec):
        if operation.get("parameters") or operation.get("requestBody"):
            assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, name
        assert operation["responses"].get("422", {}).get("description") != "Validation Error", name


async def test_every_operation_behind_a_token_documents_the_401(spec):
    for name, operation in operations(spec):
        if operation.get("security"):
            assert "401" in operation["responses"], name


async def test_post_and_message_bodies_document_1_to_140_characters_once_trimmed(spec):
    schemas = spec["components"]["schemas"]
    for model in ("NewPost", "NewMessage"):
        pattern = re.compile(schemas[model]["properties"]["body"]["pattern"])
        assert pattern.match("x" * 140) and pattern.match("  hello\n") and pattern.match("一" * 140)
        assert not pattern.match("x" * 141) and not pattern.match("   ") and not pattern.match("")
        assert not pattern.match("a\x00b") and not pattern.match("bell\x07")


async def test_registration_documents_its_required_fields_and_rules(spec):
    new_user = spec["components"]["schemas"]["NewUser"]
    assert set(new_user["required"]) == {"username", "email", "password"}
    username = re.compile(new_user["properties"]["username"]["pattern"])
    assert username.match("susan") and username.match("a.b-c_d") and username.match(" susan ")
    assert not username.match(".") and not username.match("..") and not username.match("a/b")
    assert new_user["properties"]["password"]["minLength"] == 8
    assert new_user["properties"]["about_me"]["anyOf"][0]["maxLength"] == 140


async def test_a_user_answered_without_their_counts_is_a_documented_answer(spec):
    created = spec["paths"]["/api/users"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/UserAsWritten"} in created["anyOf"]


async def test_a_405_lists_every_method_of_the_path(gateway):
    token = {"Authorization": f"Bearer {issue_access_token(1, 's1', SECRET, 5)}"}
    answer = await gateway.request("OPTIONS", "/api/users/1", headers=token)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, PUT"
    assert answer.json() == {"error": "Method Not Allowed"}
    assert (await gateway.delete("/api/users", headers=token)).headers["Allow"] == "GET, POST"


async def test_an_operation_taking_an_idempotency_key_documents_its_422(spec):
    for name, operation in operations(spec):
        if any(p["in"] == "header" and p["name"].lower() == "idempotency-key" for p in operation.get("parameters", [])):
            assert "422" in operation["responses"], name
    assert "422" in spec["paths"]["/api/posts"]["post"]["responses"]


async def test_writes_document_the_consistency_token_they_answer(spec):
    created = spec["paths"]["/api/posts"]["post"]["responses"]["201"]["headers"]["X-Consistency-Token"]
    assert "comma-separated" in created["description"] and created["schema"]["type"] == "string"
    assert "X-Consistency-Token" in spec["paths"]["/api/users/{user_id}/follow"]["post"]["responses"]["204"]["headers"]
    assert "headers" not in spec["paths"]["/api/timeline"]["get"]["responses"]["200"]
    assert "comma-separated" in spec["info"]["description"]
