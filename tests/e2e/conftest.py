from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from microblog_shared.read.consistency import remember
from microblog_testkit.devstack import DevStackProcess, env_url, env_web_url
from microblog_testkit.webforms import Browser

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session", params=["postgres", pytest.param("kafka", marks=pytest.mark.kafka)])
def stack(request, tmp_path_factory, report_session):
    """A running stack: MICROBLOG_E2E_URL (no stack file), or a `microblog dev` started here."""
    if env_url():
        if request.param == "kafka":
            pytest.skip("MICROBLOG_E2E_URL names one stack; it is tested once")
        yield RunningStack(env_url().rstrip("/"), None, web_url=(env_web_url() or "").rstrip("/") or None)
        return
    if request.param == "kafka":  # external servers: the session's Kafka broker and PostgreSQL server
        external = {
            "kafka_bootstrap": request.getfixturevalue("kafka_bootstrap"),
            "database_url": request.getfixturevalue("pg").url(),
        }
    else:
        external = {}
    dev = DevStackProcess(tmp_path_factory.mktemp(f"dev-{request.param}"), request.param, **external).start()
    where = "external PostgreSQL and Kafka" if external else "embedded PostgreSQL, postgres bus"
    report_session(f"microblog dev ({where}): ready in {dev.start_seconds:.1f} s")
    yield RunningStack(dev.url, dev.data_dir / "stack.json", dev, web_url=dev.web_url)
    code = dev.stop()
    assert code == 0, dev.logs()
    assert dev.orphans() == []


@dataclass
class RunningStack:
    url: str
    stack_file: Path | None  # where operator commands find it (None: only its URL is known)
    dev: DevStackProcess | None = None
    web_url: str | None = None  # the web UI (None: the stack at MICROBLOG_E2E_URL has none named)


@pytest.fixture(scope="session")
def base_url(stack) -> str:
    """The gateway of the running stack."""
    return stack.url


@pytest.fixture(scope="session")
def web_url(stack) -> str:
    """The web UI of the running stack (skips when there is none)."""
    if not stack.web_url:
        pytest.skip("no web UI: set MICROBLOG_E2E_WEB_URL along with MICROBLOG_E2E_URL")
    return stack.web_url


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, timeout=15) as http:
        yield http


class Person:
    """A registered user with a token, driving the public API.

    `consistency` is the X-Consistency-Token its reads send: the tokens of its latest writes, one per
    stream, newest first (a write adds its own), so a read waits for every write before it. A test
    may set it outright to wait for something else.
    """

    def __init__(self, client: httpx.Client, username: str, password: str = "a long password") -> None:
        self.client, self.username, self.password = client, username, password
        response = client.post(
            "/api/users", json={"username": username, "email": f"{username}@example.com", "password": password}
        )
        assert response.status_code == 201, response.text
        self.id = response.json()["id"]
        self.consistency = response.headers["X-Consistency-Token"]
        token = client.post("/api/tokens", auth=(username, password))
        assert token.status_code == 200, token.text
        self.tokens = token.json()
        self.headers = {"Authorization": f"Bearer {self.tokens['token']}"}

    def post(self, body: str) -> httpx.Response:
        response = self.client.post("/api/posts", json={"body": body}, headers=self.headers)
        if response.status_code == 201:
            self.consistency = remember(self.consistency, response.headers["X-Consistency-Token"])
        return response

    def send(self, method: str, path: str, **kwargs) -> httpx.Response:
        """A write: remembers its consistency token for the next reads."""
        response = self.client.request(method, path, headers=self.headers, **kwargs)
        if "X-Consistency-Token" in response.headers:
            self.consistency = remember(self.consistency, response.headers["X-Consistency-Token"])
        return response

    def waits_for(self, other: Person) -> None:
        """This person's next reads wait for the other's latest writes too."""
        self.consistency = remember(self.consistency, other.consistency)

    def get(self, path: str, **params) -> httpx.Response:
        return self.client.get(
            path, params=params or None, headers={**self.headers, "X-Consistency-Token": self.consistency}
        )


@pytest.fixture
def person(client):
    def make(prefix: str = "user") -> Person:
        return Person(client, f"{prefix}{uuid.uuid4().hex[:10]}")

    return make


class Mailbox:
    """Mail the running stack sent: the dev stack's sink (a Maildir), or Mailpit's API under compose."""

    def __init__(self, mail_dir: Path | None, mailpit_url: str | None) -> None:
        self.mail_dir, self.mailpit_url = mail_dir, mailpit_url

    def received(self) -> list:
        from microblog_dev.mailsink import read_maildir

        if self.mail_dir is not None:
            return read_maildir(self.mail_dir)
        from email import message_from_bytes
        from email.policy import default

        with httpx.Client(base_url=self.mailpit_url, timeout=10) as mailpit:
            listed = mailpit.get("/api/v1/messages", params={"limit": 500}).json()["messages"]
            return [
                message_from_bytes(mailpit.get(f"/api/v1/message/{m['ID']}/raw").content, policy=default)
                for m in reversed(listed)
            ]

    def wait_for(self, to: str, subject: str, timeout: float = 20.0):
        """The first mail to `to` with `subject`, once it has arrived."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.received():
                if to in str(message["To"]) and message["Subject"] == subject:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no mail {subject!r} to {to} within {timeout} s")


@pytest.fixture(scope="session")
def mailbox(stack) -> Mailbox:
    """Where the running stack's mail lands (skips when the stack's mail can't be read from here)."""
    import os

    if stack.dev is not None:
        return Mailbox(stack.dev.data_dir / "mail", None)
    if os.environ.get("MICROBLOG_MAILPIT_URL"):  # the Kubernetes stage: Mailpit through port-forward
        return Mailbox(None, os.environ["MICROBLOG_MAILPIT_URL"])
    if os.environ.get("MICROBLOG_COMPOSE"):
        return Mailbox(None, "http://127.0.0.1:8025")
    pytest.skip("the stack at MICROBLOG_E2E_URL has no mailbox this test can read")


@pytest.fixture
def browser(web_url):
    """Factory: web-UI clients of the running stack (see microblog_testkit.webforms), closed after the test."""
    made = []

    def make(**headers: str) -> Browser:
        made.append(Browser(web_url, **headers))
        return made[-1]

    yield make
    for each in made:
        each.http.close()
