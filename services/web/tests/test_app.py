"""The web app against a fake gateway (a real local HTTP server, conftest.py): what every page promises."""

import base64
import json
import re

import pytest
from aiohttp import web as http
from fastapi.testclient import TestClient

from web.app import create_app
from web.gateway import Gateway
from web.session import COOKIE, Session, SessionCodec
from web.settings import WebSettings


async def fake_gateway(request: http.Request) -> http.Response:
    if request.path == "/readyz":
        return http.json_response({"status": "ready"})
    if request.path == "/api/tokens" and request.method == "POST":
        return http.json_response({"error": "Unauthorized"}, status=401)
    return http.json_response({"error": "Not Found"}, status=404)


@pytest.fixture
def web(gateway_server):
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    with TestClient(
        create_app(settings, Gateway(gateway_server(fake_gateway))),
        headers={"Accept": "text/html"},
    ) as client:
        yield client


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_pages_carry_security_headers_and_no_inline_script(web):
    page = web.get("/auth/login")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"]
    assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_anonymous_visitors_are_sent_to_login_with_next(web):
    answer = web.get("/explore?page=2", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/auth/login?next=/explore%3Fpage%3D2"
    assert web.get("/notifications", headers={"Accept": "application/json"}).status_code == 401


def test_a_post_without_the_csrf_token_is_refused(web):
    web.get("/auth/login")
    answer = web.post("/auth/login", data={"username": "a", "password": "b"})
    assert answer.status_code == 400
    assert "security token" in answer.text


def test_bad_credentials_flash_and_stay(web):
    form = web.get("/auth/login").text
    answer = web.post("/auth/login", data={"csrf_token": csrf(form), "username": "a", "password": "wrong"})
    assert answer.status_code == 401
    assert "Invalid username or password" in answer.text


def test_errors_answer_json_when_asked_and_html_otherwise(web):
    assert web.get("/nowhere", headers={"Accept": "application/json"}).json() == {"error": "Not Found"}
    page = web.get("/nowhere")
    assert page.status_code == 404 and "File Not Found" in page.text and "<html" in page.text


def test_the_bootstrap_files_are_served_from_the_package(web):
    assert web.get("/static/bootstrap/css/bootstrap.min.css").status_code == 200
    assert web.get("/static/bootstrap/js/bootstrap.min.js").status_code == 200
    assert web.get("/static/bootstrap/umd/popper.min.js").status_code == 200
    assert web.get("/identicon/" + "a" * 32 + ".svg?s=36").headers["content-type"] == "image/svg+xml"


def test_the_language_follows_accept_language_and_the_switch(web):
    assert '<html lang="es">' in web.get("/auth/login", headers={"Accept-Language": "es-ES"}).text
    form = web.get("/auth/login").text
    web.post("/language", data={"csrf_token": csrf(form), "locale": "zh_Hans", "next": "/auth/register"})
    page = web.get("/auth/register")
    assert '<html lang="zh-Hans">' in page.text and "注册" in page.text


def test_an_unreachable_gateway_gives_a_friendly_503_page(refusing_url):
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    with TestClient(
        create_app(settings, Gateway(refusing_url)),
        headers={"Accept": "text/html"},
    ) as client:
        form = client.get("/auth/login").text
        answer = client.post("/auth/login", data={"csrf_token": csrf(form), "username": "a", "password": "b"})
        assert answer.status_code == 503
        assert "temporarily unavailable" in answer.text
        assert client.get("/readyz").status_code == 503


def _jwt(exp: float) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"exp": exp, "sub": "1"}).encode()).decode().rstrip("=")
    return f"e30.{claims}.sig"


class SignedInGateway:
    """A gateway that knows one session and counts token refreshes."""

    def __init__(self, valid: bool = True) -> None:
        self.valid, self.refreshes = valid, []

    async def __call__(self, request: http.Request) -> http.Response:
        if request.path == "/api/tokens" and request.method == "PUT":
            self.refreshes.append((await request.json())["refresh_token"])
            return http.json_response({"token": _jwt(9e9), "refresh_token": "rotated"})
        if not self.valid:
            return http.json_response({"error": "Unauthorized"}, status=401)
        if request.path == "/api/notifications":
            return http.json_response([{"name": "unread_message_count", "data": 3, "timestamp": 5.0}])
        if request.path == "/api/timeline":
            assert request.headers["authorization"] == f"Bearer {_jwt(9e9)}"
            assert request.headers["x-forwarded-for"] == "testclient"
            return http.json_response(
                {
                    "items": [],
                    "_meta": {"page": 1, "per_page": 25, "total_pages": 0, "total_items": 0},
                    "_links": {},
                },
            )
        return http.json_response({"error": "Not Found"}, status=404)


def _signed_in_client(gateway_url: str, token: str):
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    client = TestClient(
        create_app(settings, Gateway(gateway_url)),
        headers={"Accept": "text/html"},
    )
    session = Session({"user_id": 1, "username": "susan", "token": token, "refresh_token": "first"})
    client.cookies.set(COOKIE, SessionCodec("test-secret").dumps(session))
    return client


def test_an_access_token_about_to_expire_is_refreshed_once_before_the_page_is_read(gateway_server):
    fake = SignedInGateway()
    with _signed_in_client(gateway_server(fake), _jwt(0)) as client:
        page = client.get("/index")
        assert page.status_code == 200
        assert fake.refreshes == ["first"]
        assert re.search(r'<span id="message-count" class="badge[^"]*">3</span>', page.text)
        assert client.get("/index").status_code == 200
        assert fake.refreshes == ["first"]  # the new pair went back into the cookie


def test_a_session_the_gateway_no_longer_accepts_is_cleared_and_sent_to_login(gateway_server):
    with _signed_in_client(gateway_server(SignedInGateway(valid=False)), _jwt(9e9)) as client:
        answer = client.get("/explore", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/auth/login?next=/explore"
        assert client.get("/index", follow_redirects=False).headers["location"] == "/auth/login?next=/index"


class LoginGateway(SignedInGateway):
    """SignedInGateway that also signs susan in."""

    async def __call__(self, request: http.Request) -> http.Response:
        if request.path == "/api/tokens" and request.method == "POST":
            assert request.headers["authorization"] == "Basic c3VzYW46cHc="  # susan:pw
            return http.json_response({"token": _jwt(9e9), "refresh_token": "first"})
        if request.path == "/api/me":
            return http.json_response({"id": 1, "username": "susan"})
        return await super().__call__(request)


def test_signing_in_renews_the_csrf_token(gateway_server):
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    with TestClient(
        create_app(settings, Gateway(gateway_server(LoginGateway()))),
        headers={"Accept": "text/html"},
    ) as client:
        before = csrf(client.get("/auth/login").text)
        answer = client.post("/auth/login", data={"csrf_token": before, "username": "susan", "password": "pw"})
        assert answer.status_code == 200 and answer.url.path == "/index"
        after = csrf(answer.text)
        assert after != before
        stale = client.post("/language", data={"csrf_token": before, "locale": "es", "next": "/index"})
        assert stale.status_code == 400 and "security token" in stale.text
        fresh = client.post("/language", data={"csrf_token": after, "locale": "es", "next": "/index"})
        assert fresh.status_code == 200 and fresh.url.path == "/index"


class LimitedGateway(SignedInGateway):
    """SignedInGateway whose write budget is spent: posting and following answer 429."""

    async def __call__(self, request: http.Request) -> http.Response:
        if (request.method, request.path) in {
            ("POST", "/api/posts"),
            ("POST", "/api/translate"),
            ("DELETE", "/api/tokens"),
        }:
            message = "too many writes, try again in 42 seconds"
            headers = {"Retry-After": "42", "X-RateLimit-Remaining": "0"}
            return http.json_response({"error": "Too Many Requests", "message": message}, status=429, headers=headers)
        return await super().__call__(request)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Too many requests, try again in 42 seconds."),
        ("es", "Demasiadas solicitudes, inténtalo de nuevo dentro de 42 segundos."),
        ("zh-CN", "请求过多，请在 42 秒后重试。"),
    ],
)
def test_a_write_over_the_gateways_limit_is_a_translated_429_page_saying_when_to_retry(gateway_server, language, text):
    with _signed_in_client(gateway_server(LimitedGateway()), _jwt(9e9)) as client:
        client.headers["Accept-Language"] = language
        token = csrf(client.get("/index").text)
        answer = client.post("/index", data={"csrf_token": token, "post": "one too many"})
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "42"
        assert text in answer.text and "<html" in answer.text
        translate = client.post(
            "/translate",
            json={"text": "hola", "source_language": "es", "dest_language": "en"},
            headers={"Accept": "application/json", "X-CSRF-Token": token},
        )
        assert translate.status_code == 429
        assert translate.json() == {"error": "Too Many Requests", "message": text}


def test_signing_out_over_the_limit_still_forgets_the_session(gateway_server):
    with _signed_in_client(gateway_server(LimitedGateway()), _jwt(9e9)) as client:
        token = csrf(client.get("/index").text)
        answer = client.post("/auth/logout", data={"csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].removeprefix(f"{COOKIE}=").split(";")[0]
        assert "token" not in SessionCodec("test-secret").loads(cookie)


class EmailChangeGateway(SignedInGateway):
    """SignedInGateway where susan's profile can be edited and email links confirmed; it records the writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str, dict]] = []

    async def __call__(self, request: http.Request) -> http.Response:
        me = {"id": 1, "username": "susan", "email": "susan@example.com", "about_me": ""}
        if request.path == "/api/me":
            return http.json_response(me)
        if request.method in ("PUT", "POST") and request.path in ("/api/users/1", "/api/email_confirmation"):
            body = await request.json()
            self.writes.append((request.method, request.path, body))
            if request.path == "/api/email_confirmation":
                if body["token"] != "good.token":
                    message = "the email confirmation link is invalid, used or expired"
                    return http.json_response({"error": "Bad Request", "message": message}, status=400)
                return http.Response(status=204)
            if "email" in body:
                return http.json_response({**me, "pending_email": body["email"]}, status=202)
            return http.json_response({**me, "about_me": body.get("about_me", "")})
        return await super().__call__(request)


def test_changing_the_email_on_the_profile_needs_the_current_password_and_says_a_link_was_sent(gateway_server):
    fake = EmailChangeGateway()
    with _signed_in_client(gateway_server(fake), _jwt(9e9)) as client:
        page = client.get("/edit_profile")
        assert 'value="susan@example.com"' in page.text and 'name="current_password"' in page.text
        moving = {"csrf_token": csrf(page.text), "username": "susan", "email": "new@example.com", "about_me": ""}
        refused = client.post("/edit_profile", data=moving)
        assert refused.status_code == 400 and "Enter your current password" in refused.text
        assert fake.writes == []
        sent = client.post("/edit_profile", data={**moving, "current_password": "a long password"})
        assert sent.status_code == 200 and sent.url.path == "/edit_profile"
        assert "A confirmation link was sent to new@example.com" in sent.text
        assert fake.writes == [
            (
                "PUT",
                "/api/users/1",
                {
                    "username": "susan",
                    "about_me": "",
                    "email": "new@example.com",
                    "current_password": "a long password",
                },
            )
        ]
        kept = client.post("/edit_profile", data={**moving, "email": "susan@example.com", "about_me": "hi"})
        assert "Your changes have been saved." in kept.text
        assert fake.writes[-1][2] == {"username": "susan", "about_me": "hi"}  # no email, no password sent


def test_the_confirmation_page_changes_nothing_until_its_button_is_pressed(gateway_server):
    fake = EmailChangeGateway()
    with _signed_in_client(gateway_server(fake), _jwt(9e9)) as client:
        page = client.get("/confirm_email/good.token")
        assert page.status_code == 200 and 'action="/confirm_email/good.token"' in page.text
        assert fake.writes == []  # a GET (a mail scanner's, say) confirms nothing
        done = client.post("/confirm_email/good.token", data={"csrf_token": csrf(page.text)})
        assert done.url.path == "/edit_profile" and "Your email address has been changed." in done.text
        assert fake.writes == [("POST", "/api/email_confirmation", {"token": "good.token"})]
        page = client.get("/confirm_email/used.token")
        refused = client.post("/confirm_email/used.token", data={"csrf_token": csrf(page.text)})
        assert "The email confirmation link is invalid or has expired." in refused.text
        assert client.post("/confirm_email/good.token", data={}).status_code == 400  # no CSRF token


def test_the_public_port_serves_no_metrics(web):
    """Prometheus scrapes the web's metrics_port (runtime.service.main), never the pages' port."""
    answer = web.get("/metrics", follow_redirects=False)
    assert answer.status_code == 404
    assert "microblog_http_request_seconds" not in answer.text


class BadgeGateway(SignedInGateway):
    """SignedInGateway whose unread count can change, counting the web's notification calls."""

    def __init__(self) -> None:
        super().__init__()
        self.unread, self.asked = 3, 0

    async def __call__(self, request: http.Request) -> http.Response:
        if request.path == "/api/notifications":
            self.asked += 1
            since = float(request.query["since"])
            rows = [{"name": "unread_message_count", "data": self.unread, "timestamp": 5.0 + self.asked}]
            return http.json_response([row for row in rows if row["timestamp"] > since])
        if request.path == "/api/messages":
            return http.json_response({"items": [], "_meta": {"total_pages": 0}, "_links": {}})
        return await super().__call__(request)


def _badge(page) -> str:
    return re.search(r'<span id="message-count" class="badge[^"]*">(\d+)</span>', page.text).group(1)


def test_pages_reuse_the_sessions_badge_which_the_polling_and_the_inbox_keep_current(gateway_server):
    fake = BadgeGateway()
    with _signed_in_client(gateway_server(fake), _jwt(9e9)) as client:
        first = client.get("/index")
        assert _badge(first) == "3" and 'data-since="6.0"' in first.text and fake.asked == 1
        assert _badge(client.get("/explore")) == "3" and fake.asked == 1  # no second trip for the badge
        fake.unread = 4  # a message arrives: the open page's polling sees it, and so do the next pages
        polled = client.get("/notifications?since=6.0", headers={"Accept": "application/json"}).json()
        assert [row["data"] for row in polled] == [4] and fake.asked == 2
        assert _badge(client.get("/index")) == "4" and fake.asked == 2
        fake.unread = 1  # the notifier has not caught up with the inbox being read yet
        inbox = client.get("/messages")
        assert re.search(r'<span id="message-count" class="badge[^"]*d-none">0</span>', inbox.text)
        assert fake.asked == 3  # the inbox asks, for what else is new
        assert _badge(client.get("/index")) == "0" and fake.asked == 3


def test_without_a_badge_cache_every_page_asks(gateway_server):
    fake = BadgeGateway()
    settings = WebSettings(web_secret_key="test-secret", environment="test", badge_cache_seconds=0)
    with TestClient(create_app(settings, Gateway(gateway_server(fake))), headers={"Accept": "text/html"}) as client:
        session = Session({"user_id": 1, "username": "susan", "token": _jwt(9e9), "refresh_token": "first"})
        client.cookies.set(COOKIE, SessionCodec("test-secret").dumps(session))
        assert _badge(client.get("/index")) == "3"
        fake.unread = 7
        assert _badge(client.get("/index")) == "7" and fake.asked == 2


class SlowGateway(SignedInGateway):
    """SignedInGateway whose timeline is slower than the web waits, and whose explore is down behind it."""

    async def __call__(self, request: http.Request) -> http.Response:
        import asyncio

        if request.path == "/api/timeline":
            await asyncio.sleep(1.0)
        if request.path == "/api/explore":
            return http.Response(status=502, text="<html>bad gateway</html>", content_type="text/html")
        return await super().__call__(request)


def test_a_gateway_slower_than_the_timeout_or_failing_without_json_gives_the_503_page(gateway_server):
    settings = WebSettings(web_secret_key="test-secret", environment="test", gateway_timeout_seconds=0.3)
    gateway = Gateway(gateway_server(SlowGateway()), timeout=settings.gateway_timeout_seconds)
    with TestClient(create_app(settings, gateway), headers={"Accept": "text/html"}) as client:
        session = Session({"user_id": 1, "username": "susan", "token": _jwt(9e9), "refresh_token": "first"})
        client.cookies.set(COOKIE, SessionCodec("test-secret").dumps(session))
        for path in ("/index", "/explore"):
            page = client.get(path)
            assert page.status_code == 503 and "temporarily unavailable" in page.text and "<html" in page.text
        answer = client.get("/index", headers={"Accept": "application/json"})
        assert answer.status_code == 503 and answer.json()["error"] == "Service Unavailable"
