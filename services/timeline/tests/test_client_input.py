"""The timeline answers 400 to what it could not have issued, and keeps answering afterwards."""

import base64
import json

import pytest

COLLECTIONS = ["/users", "/users/1/followers", "/users/1/followed", "/users/1/posts", "/explore", "/timeline"]
NOT_ISSUED = [[True], [10**30], ["2026-11-24T12:00:00+00:00", True], ["2026-11-24T12:00:00+00:00", 10**30], [1, 2, 3]]


def raw_cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize("cursor", [*map(raw_cursor, NOT_ISSUED), "c29tZSByYW5kb20gYnl0ZXM"])
async def test_a_cursor_it_did_not_issue_is_400_on_every_collection(world, cursor):
    await world.register(1, "susan")
    for path in COLLECTIONS:
        response = await world.get(path, viewer=1, after=cursor)
        assert response.status_code == 400, (path, response.text)
        assert response.json() == {"error": "Bad Request", "message": "malformed cursor in 'after'"}


async def test_a_nul_in_a_by_name_path_is_400_and_the_next_read_succeeds(world):
    await world.register(1, "susan")
    response = await world.get("/users/by-name/a%00b", viewer=1)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Bad Request"
    assert (await world.get("/users/by-name/susan", viewer=1)).status_code == 200
