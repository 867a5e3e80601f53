"""A real browser for the end-to-end tests: Playwright driving Debian's Chromium.

Playwright's own browser download does not work here, so it launches `/usr/bin/chromium`
(or MICROBLOG_CHROMIUM). Without it the browser tests skip, unless MICROBLOG_REQUIRE_BROWSER=1
(CI), which makes them fail instead.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = os.environ.get("MICROBLOG_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("MICROBLOG_SCREENSHOTS", Path.cwd() / "var" / "screenshots"))
PASSWORD = "a long password"


def launch(playwright):
    if not Path(CHROMIUM).exists():
        if os.environ.get("MICROBLOG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"a browser is required (MICROBLOG_REQUIRE_BROWSER=1) but {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


def screenshot(page, name: str) -> Path:
    """Keep what a person sees as a test artifact (var/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@dataclass
class Visitor:
    """One person's browser (a context of its own: cookies, locale and time zone)."""

    page: Page
    base: str
    username: str = ""
    password: str = PASSWORD

    def go(self, path: str):
        return self.page.goto(self.base + path, wait_until="domcontentloaded")

    def submit(self, form: str) -> None:
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            self.page.locator(f"{form} [type=submit]").first.click()

    def flashes(self) -> list[str]:
        return [text.strip() for text in self.page.locator("#flashes .alert").all_inner_texts()]

    def register(self, username: str, email: str | None = None) -> None:
        self.go("/auth/register")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=email]", email or f"{username}@example.com")
        self.page.fill("input[name=password]", self.password)
        self.page.fill("input[name=password2]", self.password)
        self.submit("form:has(input[name=password2])")
        self.username = username

    def login(self, username: str | None = None, password: str | None = None, remember: bool = False) -> None:
        self.go("/auth/login")
        self.page.fill("input[name=username]", username or self.username)
        self.page.fill("input[name=password]", password or self.password)
        if remember:
            self.page.check("input[name=remember_me]")
        self.submit("form:has(input[name=remember_me])")

    def join(self, prefix: str) -> Visitor:
        """Register and log in."""
        self.register(unique(prefix))
        assert self.page.url.split("?")[0].endswith("/auth/login"), f"could not register: {self.flashes()}"
        self.login()
        assert "/auth/login" not in self.page.url, f"could not log in: {self.flashes()}"
        return self

    def post(self, body: str) -> None:
        self.go("/index")
        self.page.fill("#post-form [name=post]", body)
        self.submit("#post-form")

    def post_ids(self) -> list[int]:
        return [
            int(re.sub(r"\D", "", i))
            for i in self.page.locator("article.post").evaluate_all("items => items.map(item => item.id)")
        ]
