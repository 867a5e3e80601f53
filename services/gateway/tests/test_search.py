"""GET /api/search: forwarded to the search indexer for callers with a token (a real HTTP server behind)."""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from microblog_shared.http.auth import caller_signature_valid, issue_access_token

SECRET = "k" * 40
INTERNAL_SECRET = "i" * 40  # shared with the services behind: the caller it forwards is signed with it
# Made at import: valid for a day, so it holds however long the session runs before these tests.
HEADERS = {"Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 24 * 60)}"}
EMPTY_PAGE = {
    "items": [],
    "_meta": {"page": 2, "per_page": 5, "total_pages": 0, "total_items": 0, "next_after": None},
    "_links": {"self": "/api/search?q=kafka&page=2&per_page=5", "next": None, "prev": None},
}


@pytest.fixture
async def searches():
    """The search indexer's stand-in: answers an empty page and records what reached it."""
    seen: list[dict] = []

    async def search(request: web.Request) -> web.Response:
        user, session = request.headers.get("X-User-Id", ""), request.headers.get("X-Session-Id")
        seen.append(
            {
                **request.query,
                "user": user,
                "token": request.headers.get("X-Consistency-Token"),
                "signed": caller_signature_valid(
                    user, session, request.headers.get("X-Caller-Signature"), INTERNAL_SECRET
                ),
            }
        )
        return web.json_response(EMPTY_PAGE, headers={"X-Consistency-Reached": "true"})

    app = web.Application()
    app.router.add_get("/search", search)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, seen
    await server.close()


@pytest.fixture
async def gateway(gateway_settings, service_client, searches):
    server, _ = searches
    settings = gateway_settings(
        jwt_secret=SECRET, internal_secret=INTERNAL_SECRET, search_indexer_url=str(server.make_url("/"))
    )
    app = create_app(settings)
    yield await service_client(app)
    await app.state.backends.search_indexer.close()


async def test_a_search_is_forwarded_with_the_signed_caller_and_their_consistency_token(gateway, searches):
    response = await gateway.get(
        "/api/search",
        params={"q": 'kafka "(x)"', "page": 2, "per_page": 5},
        headers={**HEADERS, "X-Consistency-Token": "posts.posts:post-1:1"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == EMPTY_PAGE
    assert response.headers["X-Consistency-Reached"] == "true"
    assert searches[1] == [
        {"q": 'kafka "(x)"', "page": "2", "per_page": "5", "user": "7", "token": "posts.posts:post-1:1", "signed": True}
    ]


async def test_per_page_above_100_is_asked_for_as_100(gateway, searches):
    response = await gateway.get("/api/search", params={"q": "kafka", "per_page": 101}, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert searches[1][0]["per_page"] == "100"


async def test_a_search_needs_a_token(gateway, searches):
    response = await gateway.get("/api/search", params={"q": "kafka"})
    assert response.status_code == 401 and response.json()["error"] == "Unauthorized"
    assert searches[1] == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "x", "page": 0},
        {"q": "x", "page": "a"},
        {"q": "x", "per_page": 0},
        {"q": "x", "page": 10**20},
    ],
)
async def test_bad_search_parameters_are_400_before_the_indexer_is_asked(gateway, searches, params):
    response = await gateway.get("/api/search", params=params, headers=HEADERS)
    assert response.status_code == 400 and response.json()["error"] == "Bad Request"
    assert searches[1] == []
