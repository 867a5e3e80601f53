"""A cookie-keeping HTTP client for the web UI's routes: it reads CSRF tokens off the pages as a
browser's forms do, registers and signs in, and reads the flashed messages (tests/e2e)."""

from __future__ import annotations

import re
import uuid
from html import unescape

import httpx

PASSWORD = "a long password"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Browser:
    """A cookie-keeping HTTP client that reads CSRF tokens off the pages like a browser's forms."""

    def __init__(self, web_url: str, **headers: str) -> None:
        self.http = httpx.Client(
            base_url=web_url, timeout=20, follow_redirects=False, headers={"Accept": "text/html", **headers}
        )
        self.username = ""

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def csrf(self, path: str = "/auth/login") -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found[1]

    def post(self, path: str, data: dict | None = None, csrf_from: str = "/auth/login", **kwargs) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": self.csrf(csrf_from), **(data or {})}, **kwargs)

    def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, response.text[:500]
        return self.get(response.headers["location"])

    def register(self, username: str | None = None) -> httpx.Response:
        self.username = username or unique("web")
        return self.post(
            "/auth/register",
            {
                "username": self.username,
                "email": f"{self.username}@example.com",
                "password": PASSWORD,
                "password2": PASSWORD,
            },
        )

    def login(self, remember: bool = False, next_path: str = "") -> httpx.Response:
        data = {"username": self.username, "password": PASSWORD, "next": next_path}
        return self.post("/auth/login", {**data, **({"remember_me": "y"} if remember else {})})

    def join(self) -> Browser:
        assert self.register().status_code == 303
        assert self.login().status_code == 303
        return self

    def write(self, body: str) -> httpx.Response:
        return self.post("/index", {"post": body}, csrf_from="/index")


def flashes(page: httpx.Response) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", m)).strip()
        for m in re.findall(r'<div class="alert alert-\w+ alert-dismissible[^>]*>(.*?)</div>', page.text, re.S)
    ]
