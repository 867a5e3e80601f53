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
    with TestClient(create_app(settings, Gateway("http://gateway", transport=httpx.MockTransport(fake_gateway))),
                    headers={"Accept": "text/html"}) as client:
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
    with TestClient(create_app(settings, Gateway("http://gateway", transport=httpx.MockTransport(down))),
                    headers={"Accept": "text/html"}) as client:
        form = client.get("/auth/login").text
        answer = client.post("/auth/login", data={"csrf_token": csrf(form), "username": "a", "password": "b"})
        assert answer.status_code == 503
        assert "temporarily unavailable" in answer.text
        assert client.get("/readyz").status_code == 503
