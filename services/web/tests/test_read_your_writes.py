"""The web's session keeps the consistency token of each stream it wrote to, so a page read after
several writes (a post, then a follow) waits for all of them, not only the last one."""

import re

from aiohttp import web as http
from fastapi.testclient import TestClient

from web.app import create_app
from web.gateway import Gateway
from web.session import COOKIE, Session, SessionCodec
from web.settings import WebSettings

POST_TOKEN = "posts.posts:post-41:1"
FOLLOW_TOKEN = "social.follows:follow-1-2:1"
EMPTY = {"items": [], "_meta": {"page": 1, "per_page": 25, "total_pages": 0, "total_items": 0}, "_links": {}}


class LaggingGateway:
    """A gateway whose projection shows a write only to a read that waits for its token: a read
    without the post's token finds the timeline as it was before the post."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.timeline_reads: list[str] = []

    def tokens(self, request: http.Request) -> list[str]:
        return [t for t in request.headers.get("X-Consistency-Token", "").split(",") if t]

    async def __call__(self, request: http.Request) -> http.Response:
        if request.path == "/api/notifications":
            return http.json_response([])
        if request.path == "/api/posts" and request.method == "POST":
            body = (await request.json())["body"]
            post = {
                "id": 41,
                "body": body,
                "language": "en",
                "timestamp": "2026-12-04T12:00:00Z",
                "author": {"id": 1, "username": "susan", "_links": {}},
            }
            self.posts.append(post)
            return http.json_response(post, status=201, headers={"X-Consistency-Token": POST_TOKEN})
        if request.path == "/api/users/by-name/john":
            return http.json_response({"id": 2, "username": "john"})
        if request.path == "/api/users/2/follow" and request.method == "POST":
            return http.Response(status=204, headers={"X-Consistency-Token": FOLLOW_TOKEN})
        if request.path == "/api/timeline":
            self.timeline_reads.append(request.headers.get("X-Consistency-Token", ""))
            shown = self.posts if POST_TOKEN in self.tokens(request) else []
            return http.json_response({**EMPTY, "items": shown, "_meta": {**EMPTY["_meta"], "total_items": len(shown)}})
        return http.json_response({"error": "Not Found"}, status=404)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_after_a_post_then_a_follow_the_home_page_shows_the_post(gateway_server):
    fake = LaggingGateway()
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    with TestClient(create_app(settings, Gateway(gateway_server(fake))), headers={"Accept": "text/html"}) as client:
        token = "e30.eyJleHAiOjllOSwic3ViIjoiMSJ9.sig"  # {"exp": 9e9, "sub": "1"}
        session = Session({"user_id": 1, "username": "susan", "token": token, "refresh_token": "first"})
        # The web's own cookie (its domain), so that the session the writes update is the one sent back.
        client.cookies.set(COOKIE, SessionCodec("test-secret").dumps(session), domain="testserver.local")
        home = client.get("/index")
        posted = client.post("/index", data={"csrf_token": csrf(home.text), "post": "hello john"})
        assert posted.status_code == 200 and "hello john" in posted.text  # redirected home, the post's token sent
        followed = client.post("/follow/john", data={"csrf_token": csrf(posted.text)}, follow_redirects=False)
        assert followed.status_code == 303
        page = client.get("/index")
        assert page.status_code == 200
        assert 'id="post-41-body">hello john<' in page.text
        assert fake.timeline_reads[-1] == f"{FOLLOW_TOKEN},{POST_TOKEN}"  # the newest first
