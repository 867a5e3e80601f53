"""Several web workers on one port (serve.py): any serves any session, metrics summed, none left behind."""

import base64
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable

import httpx
import psutil
import pytest
from aiohttp import web as http
from fastapi.testclient import TestClient

from microblog_dev.embedded_postgres import free_port
from microblog_dev.orphans import die_with_parent
from web.app import create_app
from web.gateway import Gateway
from web.session import COOKIE, Session, SessionCodec
from web.settings import WebSettings

TOKEN = "e30." + base64.urlsafe_b64encode(json.dumps({"exp": 9e9, "sub": "1"}).encode()).decode().rstrip("=") + ".sig"
EMPTY = {"items": [], "_meta": {"page": 1, "per_page": 25, "total_pages": 0, "total_items": 0}, "_links": {}}


class SusansGateway:
    """Signs susan in (password pw); her home is empty; her unread count is what `unread` says."""

    def __init__(self) -> None:
        self.unread = 3

    async def __call__(self, request: http.Request) -> http.Response:
        if request.path == "/readyz":
            return http.json_response({"status": "ready"})
        if request.path == "/api/tokens" and request.method == "POST":
            return http.json_response({"token": TOKEN, "refresh_token": "first"})
        if request.path == "/api/me":
            return http.json_response({"id": 1, "username": "susan"})
        if request.path == "/api/notifications":
            return http.json_response([{"name": "unread_message_count", "data": self.unread, "timestamp": 5.0}])
        if request.path in ("/api/timeline", "/api/messages"):
            return http.json_response(EMPTY)
        return http.json_response({"error": "Not Found"}, status=404)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _badge(html: str) -> str:
    return re.search(r'<span id="message-count" class="badge[^"]*">(\d+)</span>', html).group(1)


def workers_of(supervisor: psutil.Process) -> list[psutil.Process]:
    """The supervisor's worker processes (multiprocessing's resource tracker is not one)."""
    found = []
    for child in supervisor.children():
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in command and "resource_tracker" not in command:
            found.append(child)
    return found


def wait_for(condition: Callable[[], object], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def two_workers(gateway_server, tmp_path):
    """`python -m web api` with MICROBLOG_WEB_WORKERS=2 and a metrics port: (supervisor, URL, metrics URL)."""
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "MICROBLOG_ENVIRONMENT": "test",
        "MICROBLOG_GATEWAY_URL": gateway_server(SusansGateway()),
        "MICROBLOG_WEB_SECRET_KEY": "test-secret",
        "MICROBLOG_WEB_WORKERS": "2",
        "MICROBLOG_METRICS_PORT": str(metrics_port),
    }
    log = tmp_path / "web.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            ["python", "-m", "web", "api", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    supervisor = psutil.Process(process.pid)
    try:
        wait_for(lambda: process.poll() is not None or (answers(url) and len(workers_of(supervisor)) == 2), "ready")
        assert process.poll() is None, log.read_text()[-3000:]
        yield process, url, f"http://127.0.0.1:{metrics_port}"
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_any_worker_serves_a_session_signed_in_through_another(two_workers):
    _process, url, metrics = two_workers
    # No kept-alive connection: each request is a new connection, which either worker may accept.
    with httpx.Client(base_url=url, limits=httpx.Limits(max_keepalive_connections=0)) as browser:
        form = browser.get("/auth/login")
        signed_in = browser.post(
            "/auth/login", data={"csrf_token": csrf(form.text), "username": "susan", "password": "pw"}
        )
        assert signed_in.status_code == 303
        pages = [browser.get("/index") for _ in range(20)]
        assert all(page.status_code == 200 and 'href="/user/susan"' in page.text for page in pages)
        assert all(_badge(page.text) == "3" for page in pages)
    scraped = httpx.get(f"{metrics}/metrics").text
    counts = [line for line in scraped.splitlines() if line.startswith("microblog_http_request_seconds_count")]
    served = sum(float(line.rsplit(" ", 1)[1]) for line in counts if 'route="/index"' in line)
    assert served == 20, counts  # the two workers' counts, summed


def test_a_dead_worker_is_replaced_and_the_workers_end_with_their_supervisor(two_workers):
    process, url, _metrics = two_workers
    supervisor = psutil.Process(process.pid)
    first, second = workers_of(supervisor)
    first.kill()
    wait_for(lambda: {w.pid for w in workers_of(supervisor)} - {first.pid, second.pid}, "a new worker")
    assert answers(url)
    workers = workers_of(supervisor)
    os.kill(process.pid, signal.SIGKILL)  # no chance to stop them itself
    process.wait(10)
    wait_for(lambda: not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers), "workers gone")
    assert not answers(url)


def test_reading_the_inbox_clears_the_badge_whichever_worker_serves_the_next_page(gateway_server):
    """Two apps, as two workers with their own badges, and one browser whose requests alternate between them."""
    fake = SusansGateway()
    gateway_url = gateway_server(fake)
    settings = WebSettings(web_secret_key="test-secret", environment="test")
    session = SessionCodec("test-secret").dumps(Session({"user_id": 1, "username": "susan", "token": TOKEN}))
    with (
        TestClient(create_app(settings, Gateway(gateway_url)), headers={"Accept": "text/html"}) as one,
        TestClient(create_app(settings, Gateway(gateway_url)), headers={"Accept": "text/html"}) as other,
    ):
        # The web's own cookie (its domain), so that the one the inbox sets replaces it.
        one.cookies.set(COOKIE, session, domain="testserver.local")
        other.cookies.set(COOKIE, session, domain="testserver.local")
        assert _badge(one.get("/index").text) == "3" and _badge(other.get("/index").text) == "3"
        fake.unread = 1  # the notifier has not caught up with the inbox being read yet
        inbox = one.get("/messages")
        assert inbox.status_code == 200
        # The browser sends the cookie the inbox set.
        other.cookies.set(COOKIE, one.cookies.get(COOKIE, domain="testserver.local"), domain="testserver.local")
        assert _badge(other.get("/index").text) == "0"
        assert _badge(one.get("/index").text) == "0"
