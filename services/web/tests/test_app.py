"""The web app against a fake gateway (httpx.MockTransport): what every page promises."""

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from web.app import create_app
from web.gateway import Gateway
from web.settings import WebSettings


def fake_gateway(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/readyz":
        return httpx.Response(200, json={"status": "ready"})
    if request.url.path == "/api/tokens" and request.method == "POST":
        return httpx.Response(401, json={"error": "Unauthorized"})
    return httpx.Response(404, json={"error": "Not Found"})


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused")


@pytest.fixture
def web():
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    with TestClient(
        create_app(settings, Gateway("http://gateway", transport=httpx.MockTransport(fake_gateway))),
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


def test_an_unreachable_gateway_gives_a_friendly_503_page():
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    with TestClient(
        create_app(settings, Gateway("http://gateway", transport=httpx.MockTransport(down))),
        headers={"Accept": "text/html"},
    ) as client:
        form = client.get("/auth/login").text
        answer = client.post("/auth/login", data={"csrf_token": csrf(form), "username": "a", "password": "b"})
        assert answer.status_code == 503
        assert "temporarily unavailable" in answer.text
        assert client.get("/readyz").status_code == 503


def _jwt(exp: float) -> str:
    import base64
    import json

    claims = base64.urlsafe_b64encode(json.dumps({"exp": exp, "sub": "1"}).encode()).decode().rstrip("=")
    return f"e30.{claims}.sig"


class SignedInGateway:
    """A gateway that knows one session and counts token refreshes."""

    def __init__(self, valid: bool = True) -> None:
        self.valid, self.refreshes = valid, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        import json

        if request.url.path == "/api/tokens" and request.method == "PUT":
            self.refreshes.append(json.loads(request.content)["refresh_token"])
            return httpx.Response(200, json={"token": _jwt(9e9), "refresh_token": "rotated"})
        if not self.valid:
            return httpx.Response(401, json={"error": "Unauthorized"})
        if request.url.path == "/api/notifications":
            return httpx.Response(200, json=[{"name": "unread_message_count", "data": 3, "timestamp": 5.0}])
        if request.url.path == "/api/timeline":
            assert request.headers["authorization"] == f"Bearer {_jwt(9e9)}"
            assert request.headers["x-forwarded-for"] == "testclient"
            return httpx.Response(
                200,
                json={
                    "items": [],
                    "_meta": {"page": 1, "per_page": 25, "total_pages": 0, "total_items": 0},
                    "_links": {},
                },
            )
        return httpx.Response(404, json={"error": "Not Found"})


def _signed_in_client(fake, token: str):
    from web.session import COOKIE, Session, SessionCodec

    settings = WebSettings(web_secret_key="test-secret", environment="test")
    client = TestClient(
        create_app(settings, Gateway("http://gateway", transport=httpx.MockTransport(fake))),
        headers={"Accept": "text/html"},
    )
    session = Session({"user_id": 1, "username": "susan", "token": token, "refresh_token": "first"})
    client.cookies.set(COOKIE, SessionCodec("test-secret").dumps(session))
    return client


def test_an_access_token_about_to_expire_is_refreshed_once_before_the_page_is_read():
    fake = SignedInGateway()
    with _signed_in_client(fake, _jwt(0)) as client:
        page = client.get("/index")
        assert page.status_code == 200
        assert fake.refreshes == ["first"]
        assert re.search(r'<span id="message-count" class="badge[^"]*">3</span>', page.text)
        assert client.get("/index").status_code == 200
        assert fake.refreshes == ["first"]  # the new pair went back into the cookie


def test_a_session_the_gateway_no_longer_accepts_is_cleared_and_sent_to_login():
    with _signed_in_client(SignedInGateway(valid=False), _jwt(9e9)) as client:
        answer = client.get("/explore", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/auth/login?next=/explore"
        assert client.get("/index", follow_redirects=False).headers["location"] == "/auth/login?next=/index"


class LoginGateway(SignedInGateway):
    """SignedInGateway that also signs susan in."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/tokens" and request.method == "POST":
            return httpx.Response(200, json={"token": _jwt(9e9), "refresh_token": "first"})
        if request.url.path == "/api/me":
            return httpx.Response(200, json={"id": 1, "username": "susan"})
        return super().__call__(request)


def test_signing_in_renews_the_csrf_token():
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    with TestClient(
        create_app(settings, Gateway("http://gateway", transport=httpx.MockTransport(LoginGateway()))),
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

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if (request.method, request.url.path) in {
            ("POST", "/api/posts"),
            ("POST", "/api/translate"),
            ("DELETE", "/api/tokens"),
        }:
            message = "too many writes, try again in 42 seconds"
            headers = {"Retry-After": "42", "X-RateLimit-Remaining": "0"}
            return httpx.Response(429, json={"error": "Too Many Requests", "message": message}, headers=headers)
        return super().__call__(request)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Too many requests, try again in 42 seconds."),
        ("es", "Demasiadas solicitudes, inténtalo de nuevo dentro de 42 segundos."),
        ("zh-CN", "请求过多，请在 42 秒后重试。"),
    ],
)
def test_a_write_over_the_gateways_limit_is_a_translated_429_page_saying_when_to_retry(language, text):
    with _signed_in_client(LimitedGateway(), _jwt(9e9)) as client:
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


def test_signing_out_over_the_limit_still_forgets_the_session():
    with _signed_in_client(LimitedGateway(), _jwt(9e9)) as client:
        token = csrf(client.get("/index").text)
        answer = client.post("/auth/logout", data={"csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 303
        from web.session import COOKIE, SessionCodec

        cookie = answer.headers["set-cookie"].removeprefix(f"{COOKIE}=").split(";")[0]
        assert "token" not in SessionCodec("test-secret").loads(cookie)


class EmailChangeGateway(SignedInGateway):
    """SignedInGateway where susan's profile can be edited and email links confirmed; it records the writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str, dict]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        import json

        me = {"id": 1, "username": "susan", "email": "susan@example.com", "about_me": ""}
        if request.url.path == "/api/me":
            return httpx.Response(200, json=me)
        if request.method in ("PUT", "POST") and request.url.path in ("/api/users/1", "/api/email_confirmation"):
            body = json.loads(request.content)
            self.writes.append((request.method, request.url.path, body))
            if request.url.path == "/api/email_confirmation":
                if body["token"] != "good.token":
                    message = "the email confirmation link is invalid, used or expired"
                    return httpx.Response(400, json={"error": "Bad Request", "message": message})
                return httpx.Response(204)
            if "email" in body:
                return httpx.Response(202, json={**me, "pending_email": body["email"]})
            return httpx.Response(200, json={**me, "about_me": body.get("about_me", "")})
        return super().__call__(request)


def test_changing_the_email_on_the_profile_needs_the_current_password_and_says_a_link_was_sent():
    fake = EmailChangeGateway()
    with _signed_in_client(fake, _jwt(9e9)) as client:
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


def test_the_confirmation_page_changes_nothing_until_its_button_is_pressed():
    fake = EmailChangeGateway()
    with _signed_in_client(fake, _jwt(9e9)) as client:
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
