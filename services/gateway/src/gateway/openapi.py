"""The OpenAPI document as the API behaves, corrected in one place after FastAPI generates it.

FastAPI documents a 422 with its own error list for every invalid request; ours answer 400 with
the platform's error shape (see microblog_shared.http.errors). Rules that hold for a whole class
of operations (a bearer token, a request body) are added here rather than on each route, so a new
route gets them by being of that class. The field rules the services check with their own
messages are documented with `Documented` (the gateway's models don't re-check them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from microblog_shared.http.text import REFUSED_CLASS
from microblog_shared.read.consistency import HEADER as CONSISTENCY_HEADER
from microblog_shared.read.consistency import MAX_TOKENS

ERROR_REF = "#/components/schemas/Error"
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def _takes_header(name: str) -> Callable[[str, dict], bool]:
    return lambda method, op: any(p["in"] == "header" and p["name"].lower() == name for p in op.get("parameters", []))


# Answers any operation of a kind may give, whatever its route says: (when it applies, status, description).
# A predicate is given the method ("post") and the operation.
CLASS_ANSWERS: list[tuple[Callable[[str, dict], bool], str, str]] = [
    (
        lambda method, op: bool(op.get("parameters") or op.get("requestBody")),
        "400",
        "Invalid input; the message names the field",
    ),
    (lambda method, op: bool(op.get("security")), "401", "Missing, bad, expired or revoked credentials"),
    (lambda method, op: "requestBody" in op, "413", "The request body is over the size limit"),
    (_takes_header("idempotency-key"), "422", "An Idempotency-Key sent again with another body, or after 24 hours"),
    (lambda method, op: True, "503", "A service behind the gateway is unavailable"),
]

WRITES = ("post", "put", "patch", "delete")
CONSISTENCY_ANSWER = {
    "description": "The write's consistency token, `<topic>:<stream>:<version>`, when it stored an event. "
    f"Send it back in `{CONSISTENCY_HEADER}` on reads to see the write: up to {MAX_TOKENS} tokens "
    "(one per stream you wrote to, newest first), comma-separated; a read waits until every one it "
    "depends on is applied, and a malformed one is a 400.",
    "schema": {"type": "string", "example": "posts.posts:post-42:1"},
}

# What str.strip() removes that is not a control character (those are refused anyway).
WHITESPACE = r" \t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def trimmed_text(max_chars: int) -> str:
    """A pattern: text of 1 to `max_chars` characters once trimmed, no control characters."""
    edge = f"[^{WHITESPACE}{REFUSED_CLASS}]"
    return f"^[{WHITESPACE}]*{edge}(?:[^{REFUSED_CLASS}]{{0,{max_chars - 2}}}{edge})?[{WHITESPACE}]*$"


def trimmed(pattern: str) -> str:
    """`pattern` (anchored) with the whitespace the service trims allowed around it."""
    return f"^[{WHITESPACE}]*(?:{pattern.removeprefix('^').removesuffix('$')})[{WHITESPACE}]*$"


class Documented:
    """Annotation: JSON Schema keywords for rules a service checks (with its own messages) and the gateway doesn't."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema.update(self.keywords)
        return schema


def not_null(*fields: str) -> Callable[[dict[str, Any]], None]:
    """A model's `json_schema_extra`: these fields are required and strings (the service refuses null)."""

    def correct(schema: dict[str, Any]) -> None:
        for name in fields:
            field = schema["properties"][name]
            branches = [b for b in field.pop("anyOf", []) if b.get("type") != "null"]
            field.pop("default", None)
            if branches:
                field.update(branches[0])
        schema["required"] = [*schema.get("required", []), *fields]

    return correct


def at_least_one_of(*fields: str) -> Callable[[dict[str, Any]], None]:
    """A model's `json_schema_extra`: one of these fields at least must be given, not as null."""

    def correct(schema: dict[str, Any]) -> None:
        schema["anyOf"] = [{"required": [name], "properties": {name: {"type": "string"}}} for name in fields]

    return correct


def corrected(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` as the API behaves: 400 for invalid input, the answers of CLASS_ANSWERS, and the
    consistency token a write may answer."""
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            validation = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if validation.get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]
            for applies, status, description in CLASS_ANSWERS:
                if applies(method, operation) and status not in responses:
                    responses[status] = error_answer(description)
            if method in WRITES:
                for status, answer in responses.items():
                    if status.startswith("2"):
                        answer.setdefault("headers", {})[CONSISTENCY_HEADER] = CONSISTENCY_ANSWER
    components = schema.get("components", {}).get("schemas", {})
    for name in FASTAPI_VALIDATION:
        components.pop(name, None)
    return schema


def error_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}


def serve_corrected_openapi(app: FastAPI) -> None:
    """Make `app` serve (and cache) the corrected document at its openapi_url."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = corrected(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
