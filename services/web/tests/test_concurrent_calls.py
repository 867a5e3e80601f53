"""A page's independent gateway calls go at once; the page is still the one the calls one after the other give."""

import asyncio
import base64
import json
import re

from aiohttp import web as http
from fastapi.testclient import TestClient

from web.app import create_app
from web.gateway import Gateway
from web.session import COOKIE, Session, SessionCodec
from web.settings import WebSettings
from web.userids import UserIds

TOKEN = "e30." + base64.urlsafe_b64encode(json.dumps({"exp": 9e9, "sub": "1"}).encode()).decode().rstrip("=") + ".sig"
EMPTY_META = {"page": 1, "per_page": 25, "total_pages": 1, "total_items": 1}


def _post(post_id: int, author: str) -> dict:
    return {
        "id": post_id,
        "body": f"post {post_id} by {author}",
        "timestamp": "2026-01-02T03:04:05Z",
        "language": "en",
        "author": {"id": 9, "username": author, "_links": {}},
    }


class OverlapGateway:
    """A gateway whose answers note which calls were in flight together.

    A call named in `waits_for` holds its answer until the named one has arrived (at most
    `patience` seconds), so a web asking one after the other answers late but still right.
    """

    def __init__(self, names: dict[str, int], waits_for: dict[str, str], patience: float = 0.5) -> None:
        self.names, self.waits_for, self.patience = names, waits_for, patience
        self.arrived: dict[str, asyncio.Event] = {}
        self.calls: list[str] = []
        self.overlapped: list[str] = []

    def _event(self, name: str) -> asyncio.Event:
        return self.arrived.setdefault(name, asyncio.Event())

    async def __call__(self, request: http.Request) -> http.Response:
        name = re.sub(r"/\d+/", "/{id}/", request.path).lower()
        self.calls.append(request.path)
        self._event(name).set()
        if name in self.waits_for:
            try:
                await asyncio.wait_for(self._event(self.waits_for[name]).wait(), self.patience)
                self.overlapped.append(name)
            except TimeoutError:
                pass
        if request.path == "/api/notifications":
            return http.json_response([{"name": "unread_message_count", "data": 2, "timestamp": 5.0}])
        if request.path in ("/api/timeline", "/api/explore"):
            return http.json_response({"items": [_post(1, "john")], "_meta": EMPTY_META, "_links": {}})
        if request.path.startswith("/api/users/by-name/"):
            username = request.path.rsplit("/", 1)[1].lower()  # as the gateway: case-insensitive
            if username not in self.names:
                return http.json_response({"error": "Not Found", "message": "no such user"}, status=404)
            return http.json_response(
                {
                    "id": self.names[username],
                    "username": username,
                    "follower_count": 0,
                    "followed_count": 0,
                    "_links": {},
                }
            )
        if match := re.fullmatch(r"/api/users/(\d+)/posts", request.path):
            user_id = int(match.group(1))
            owner = next((name for name, known in self.names.items() if known == user_id), "gone")
            return http.json_response({"items": [_post(100 + user_id, owner)], "_meta": EMPTY_META, "_links": {}})
        return http.json_response({"error": "Not Found"}, status=404)


def _client(gateway_url: str, badge_seconds: float = 5.0) -> TestClient:
    settings = WebSettings(web_secret_key="test-secret", environment="test", badge_cache_seconds=badge_seconds)
    client = TestClient(create_app(settings, Gateway(gateway_url)), headers={"Accept": "text/html"})
    session = Session({"user_id": 1, "username": "susan", "token": TOKEN, "refresh_token": "first"})
    client.cookies.set(COOKIE, SessionCodec("test-secret").dumps(session))
    return client


def _badge(html: str) -> str:
    return re.search(r'<span id="message-count" class="badge[^"]*">(\d+)</span>', html).group(1)


def test_the_home_and_explore_pages_ask_for_their_posts_and_the_badge_at_once(gateway_server):
    fake = OverlapGateway({}, waits_for={"/api/timeline": "/api/notifications", "/api/explore": "/api/notifications"})
    with _client(gateway_server(fake), badge_seconds=0) as client:
        for path in ("/index", "/explore"):
            page = client.get(path)
            assert page.status_code == 200 and _badge(page.text) == "2" and "post 1 by john" in page.text
    assert fake.overlapped == ["/api/timeline", "/api/explore"]


def test_a_remembered_badge_needs_no_call_beside_the_posts(gateway_server):
    fake = OverlapGateway({}, waits_for={})
    with _client(gateway_server(fake)) as client:
        assert _badge(client.get("/index").text) == "2"
        assert _badge(client.get("/explore").text) == "2"
    assert sorted(fake.calls[:2]) == ["/api/notifications", "/api/timeline"] and fake.calls[2:] == ["/api/explore"]


def test_a_profile_seen_before_asks_for_its_user_and_posts_at_once(gateway_server):
    fake = OverlapGateway({"john": 2}, waits_for={"/api/users/by-name/john": "/api/users/{id}/posts"})
    with _client(gateway_server(fake)) as client:
        first = client.get("/user/john")
        assert first.status_code == 200 and "post 102 by john" in first.text
        assert fake.overlapped == []  # the first time, the id comes from the user's answer
        again = client.get("/user/JOHN")  # names are looked up case-insensitively
        assert again.status_code == 200 and "post 102 by john" in again.text
    assert fake.overlapped == ["/api/users/by-name/john"]


def test_a_name_now_of_another_user_shows_that_users_posts(gateway_server):
    fake = OverlapGateway({"john": 2}, waits_for={})
    with _client(gateway_server(fake)) as client:
        assert "post 102 by john" in client.get("/user/john").text
        fake.names = {"john": 3}  # john was renamed and someone else took the name
        page = client.get("/user/john")
        assert page.status_code == 200
        assert "post 103 by john" in page.text and "post 102" not in page.text
        assert fake.calls[-1] == "/api/users/3/posts"  # asked again with the id the user's answer gave
        fake.names = {}  # and then the name is free
        gone = client.get("/user/john")
        assert gone.status_code == 404 and "post 10" not in gone.text


def test_remembered_ids_are_case_insensitive_and_bounded():
    ids = UserIds(size=2)
    ids.put("John", 2)
    assert ids.get("john") == 2 and ids.get("JOHN") == 2 and ids.get("susan") is None
    ids.put("susan", 1)
    ids.put("john", 3)  # renamed owner: the newest id wins, and john is the newest entry
    ids.put("ann", 4)
    assert ids.get("susan") is None and ids.get("john") == 3 and ids.get("ann") == 4
