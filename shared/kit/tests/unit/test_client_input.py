"""What a client sends is refused with a 400 unless the platform could have issued it."""

import base64
import json

import httpx
import pytest
from fastapi import HTTPException
from pydantic import BaseModel

from microblog_shared.http.app import create_service_app
from microblog_shared.http.pagination import PageParams, encode_cursor
from microblog_shared.http.text import Text


def raw_cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


class Note(BaseModel):
    body: Text
    title: Text = ""


@pytest.fixture
async def client():
    app = create_service_app("test", "test", [])

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("a statement failed")

    @app.post("/notes/{name}")
    async def note(name: Text, note: Note) -> dict:
        return {"name": name, "body": note.body}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield http


@pytest.mark.parametrize("body", ["a\x00b", "\x07", "\x1b[31m", "\x7f", "\x85", "\x9f"])
async def test_control_characters_in_a_text_field_are_a_400(client, body):
    response = await client.post("/notes/n", json={"body": "fine", "title": body})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "message": "title: control characters are not allowed",
    }


async def test_a_control_character_in_a_path_is_a_400(client):
    response = await client.post("/notes/a%00b", json={"body": "fine"})
    assert response.status_code == 400
    assert response.json()["message"] == "name: control characters are not allowed"


async def test_tabs_line_breaks_and_any_printable_text_pass(client):
    body = "one\r\ntwo\tthree — día 今天 🙂"
    assert (await client.post("/notes/susan", json={"body": body})).json() == {"name": "susan", "body": body}


async def test_a_crash_is_a_500_the_app_does_not_raise_after_so_the_connection_stays_usable(client):
    # An exception leaving the app after its 500 makes uvicorn close the keep-alive connection, which
    # the gateway's pool then hands to the next request: a 503. The client here raises it if it leaves.
    response = await client.get("/crash", headers={"X-Correlation-ID": "cid-1"})
    assert (response.status_code, response.json()) == (500, {"error": "Internal Server Error"})
    assert response.headers["X-Correlation-ID"] == "cid-1"
    assert (await client.post("/notes/n", json={"body": "next"})).status_code == 200


@pytest.mark.parametrize(
    "after",
    [
        raw_cursor([True]),
        raw_cursor([10**30]),
        raw_cursor([-(2**63) - 1]),
        raw_cursor([1.5]),
        raw_cursor([None]),
        raw_cursor([[1]]),
        raw_cursor([]),
        raw_cursor([1, 2, 3]),
        raw_cursor(["a\x00b", 1]),
        raw_cursor({"id": 1}),
        "////",
        "\u00e9t\u00e9",
    ],
)
def test_a_cursor_the_platform_could_not_have_issued_is_a_400(after):
    with pytest.raises(HTTPException) as refused:
        PageParams(page=1, per_page=10, after=after).cursor()
    assert (refused.value.status_code, refused.value.detail) == (400, "malformed cursor in 'after'")


@pytest.mark.parametrize(
    "after",
    [encode_cursor("2026-11-24T12:00:00+00:00"), encode_cursor(7), encode_cursor("not a time", 7), encode_cursor(1, 2)],
)
def test_a_time_and_id_cursor_must_hold_a_time_and_an_id(after):
    with pytest.raises(HTTPException) as refused:
        PageParams(page=1, per_page=10, after=after).after_time_and_id()
    assert refused.value.status_code == 400


@pytest.mark.parametrize("after", [encode_cursor("7"), encode_cursor(1, 2), raw_cursor([True])])
def test_an_id_cursor_must_hold_one_id(after):
    with pytest.raises(HTTPException) as refused:
        PageParams(page=1, per_page=10, after=after).after_id()
    assert refused.value.status_code == 400


def test_issued_cursors_decode_to_their_keys():
    page = PageParams(page=1, per_page=10, after=encode_cursor("2026-11-24T12:00:00+00:00", 2**63 - 1))
    at, key = page.after_time_and_id() or (None, None)
    assert (at.isoformat() if at else None, key) == ("2026-11-24T12:00:00+00:00", 2**63 - 1)
    assert PageParams(page=1, per_page=10, after=encode_cursor(42)).after_id() == 42
    assert PageParams(page=1, per_page=10).after_id() is None


async def test_a_field_named_body_is_named_in_the_message(client):
    response = await client.post("/notes/n", json={"body": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["message"] == "body: control characters are not allowed"


async def test_a_405_lists_the_methods_of_the_path_in_allow(client):
    response = await client.get("/notes/n")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json() == {"error": "Method Not Allowed"}
