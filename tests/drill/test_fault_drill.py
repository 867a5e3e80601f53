"""The fault drill: steady writes (posts, messages, follows) through the gateway while parts of the
stack are SIGKILLed.

One at a time, each target is killed with SIGKILL and started again: a timeline projector,
posts' outbox relay and the posts API (each runs as two replicas and the drill kills one: the
other serves on), the Kafka broker, and PostgreSQL (in compose one server holds every
service's database, so this kills the database of every service at once). Afterwards, once the stack has caught up:

- every write that got a 2xx is present exactly once (event store and read model);
- every write that got an error was either not applied or applied once, never half (in the
  event store but not the read model, or the other way round);
- the read model equals what a fresh replay of the log builds (`microblog replay timeline`
  into a new schema, then table by table, both ways).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

TARGETS = ["timeline-projector", "posts-relay", "posts-api", "kafka", "postgres"]
USERS, WORKERS, MAX_FOLLOWED = 24, 8, 5  # homes stay under the 800 cap: no trims
LOAD_BEFORE_KILLS, PAUSE_AFTER_KILL = 8.0, 3.0
TIMELINE_TABLES = ["users", "posts", "follows", "home_entries", "home_state", "totals"]


@dataclass
class Account:
    id: int
    auth: dict
    following: dict[int, bool | None] = field(default_factory=dict)  # None: an errored write left it unknown


@dataclass
class Ledger:
    posts: list[tuple[str, int | str, int | None]] = field(default_factory=list)  # marker, status, id
    follows: list[tuple[int, int, str, int | str]] = field(default_factory=list)  # who, whom, verb, status
    messages: list[tuple[str, int | str]] = field(default_factory=list)  # marker, status

    def statuses(self) -> Counter:
        return (
            Counter(str(s) for _, s, _ in self.posts)
            + Counter(str(s) for *_, s in self.follows)
            + Counter(str(s) for _, s in self.messages)
        )


async def patiently(send) -> httpx.Response:
    """Sign-ups and logins are rate-limited per address: wait as told, then try again."""
    while True:
        answer = await send()
        if answer.status_code != 429:
            return answer
        await asyncio.sleep(float(answer.headers.get("Retry-After", "5")))


async def sign_up(client: httpx.AsyncClient, n: int) -> Account:
    name = f"drill{n}{uuid.uuid4().hex[:6]}"
    created = await patiently(
        lambda: client.post(
            "/api/users", json={"username": name, "email": f"{name}@example.com", "password": "drill password"}
        )
    )
    assert created.status_code == 201, created.text
    token = await patiently(lambda: client.post("/api/tokens", auth=(name, "drill password")))
    assert token.status_code == 200, token.text
    return Account(created.json()["id"], {"Authorization": f"Bearer {token.json()['token']}"})


async def write(client: httpx.AsyncClient, method: str, path: str, **kwargs) -> tuple[int | str, dict]:
    try:
        answer = await client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        return type(error).__name__, {}
    return answer.status_code, (answer.json() if answer.status_code == 201 else {})


async def load(
    client: httpx.AsyncClient, worker: int, accounts: list[Account], ledger: Ledger, stop: asyncio.Event
) -> None:
    """Posts (50 %), private messages (20 %), follows or unfollows of this worker's own accounts."""
    rng, mine = random.Random(worker), accounts[worker::WORKERS]
    while not stop.is_set():
        account, action = rng.choice(mine), rng.random()
        if action < 0.2:
            marker = f"drill {uuid.uuid4().hex}"
            other = rng.choice([a for a in accounts if a is not account])
            status, _ = await write(
                client, "POST", f"/api/users/{other.id}/messages", json={"body": marker}, headers=account.auth
            )
            ledger.messages.append((marker, status))
        elif action < 0.7:
            marker = f"drill {uuid.uuid4().hex}"
            status, body = await write(client, "POST", "/api/posts", json={"body": marker}, headers=account.auth)
            ledger.posts.append((marker, status, body.get("id")))
        else:
            other = rng.choice([a for a in accounts if a is not account])
            follow = not account.following.get(other.id) and sum(map(bool, account.following.values())) < MAX_FOLLOWED
            verb = "POST" if follow else "DELETE"
            status, _ = await write(client, verb, f"/api/users/{other.id}/follow", headers=account.auth)
            ledger.follows.append((account.id, other.id, verb, status))
            account.following[other.id] = follow if status == 204 else None
        await asyncio.sleep(0.3)


async def probe_visible(client: httpx.AsyncClient, account: Account, timeout: float = 300) -> None:
    """A new post, retried until accepted, then read back from explore without any consistency token."""
    deadline = time.monotonic() + timeout
    marker = f"probe {uuid.uuid4().hex}"
    while (await write(client, "POST", "/api/posts", json={"body": marker}, headers=account.auth))[0] != 201:
        assert time.monotonic() < deadline, "the stack never accepted a post again"
        await asyncio.sleep(0.5)
    while True:
        page = await client.get("/api/explore", params={"per_page": 50}, headers=account.auth)
        if page.status_code == 200 and any(p["body"] == marker for p in page.json()["items"]):
            return
        assert time.monotonic() < deadline, "a new post never reached the timeline"
        await asyncio.sleep(0.2)


async def wait_caught_up(compose, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = await asyncio.to_thread(compose.status)
        behind = sum(p["lag"] for p in status["projections"]) + sum(o["backlog"] for o in status["outboxes"])
        if status["ok"] and behind == 0 and status["projections"]:
            return
        assert time.monotonic() < deadline, f"not caught up: {status}"
        await asyncio.sleep(1)


@pytest.mark.timeout(900)  # five kills with their recoveries, then a replay compared table by table
async def test_the_stack_loses_and_doubles_nothing_through_sigkills(compose, gateway, report_session):
    figures: dict = {"kills": []}
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        accounts = [await sign_up(client, n) for n in range(USERS)]
        ledger, stop = Ledger(), asyncio.Event()
        workers = [asyncio.create_task(load(client, w, accounts, ledger, stop)) for w in range(WORKERS)]
        await asyncio.sleep(LOAD_BEFORE_KILLS)
        for target in TARGETS:
            killed = time.monotonic()
            replicas = await asyncio.to_thread(compose.kill, target)
            await asyncio.sleep(PAUSE_AFTER_KILL)
            await asyncio.to_thread(compose.start, target)
            await asyncio.to_thread(compose.wait_healthy, target)
            healthy = time.monotonic()
            await probe_visible(client, accounts[0])
            figures["kills"].append(
                {
                    "target": target if replicas == 1 else f"{target} (one of {replicas})",
                    "back_after_s": round(healthy - killed, 1),
                    "caught_up_after_s": round(time.monotonic() - healthy, 1),
                }
            )
        stop.set()
        await asyncio.gather(*workers)
    await wait_caught_up(compose)

    figures.update(lost_and_doubled(compose, ledger, accounts))
    figures["replay"] = replay_equals_live(compose)
    figures["requests"] = len(ledger.posts) + len(ledger.follows) + len(ledger.messages)
    figures["by_status"] = dict(ledger.statuses())
    report_session("fault drill: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    assert figures["lost"] == figures["doubled"] == figures["half_applied"] == 0, figures
    assert figures["replay"]["differences"] == {}, figures


def lost_and_doubled(compose, ledger: Ledger, accounts: list[Account]) -> dict:
    stored = Counter(
        dict(
            (body, int(n))
            for body, n in compose.sql(
                "posts",
                "SELECT payload->>'body', count(*) FROM events WHERE type = 'PostCreated' "
                "AND payload->>'body' LIKE 'drill %' GROUP BY 1",
            )
        )
    )
    projected = Counter(
        dict(
            (body, int(n))
            for body, n in compose.sql(
                "timeline", "SELECT body, count(*) FROM posts WHERE body LIKE 'drill %' GROUP BY 1"
            )
        )
    )
    succeeded = {marker for marker, status, _ in ledger.posts if status == 201}
    failed = {marker for marker, status, _ in ledger.posts if status != 201}
    lost = sum(1 for m in succeeded if stored[m] != 1 or projected[m] != 1)
    doubled = sum(1 for m in stored if stored[m] > 1) + sum(1 for m in projected if projected[m] > 1)
    half = sum(1 for m in failed if stored[m] != projected[m])
    failed_applied = sum(1 for m in failed if stored[m] == 1)

    edges = {tuple(map(int, row)) for row in compose.sql("social_graph", "SELECT follower_id, followee_id FROM edges")}
    follows = {tuple(map(int, row)) for row in compose.sql("timeline", "SELECT follower_id, followee_id FROM follows")}
    half += len(edges ^ follows)
    for account in accounts:
        for other, expected in account.following.items():
            if expected is not None and ((account.id, other) in edges) != expected:
                lost += 1
    sent = Counter(
        dict(
            (body, int(n))
            for body, n in compose.sql(
                "messaging",
                "SELECT payload->>'body', count(*) FROM events WHERE type = 'MessageSent' "
                "AND payload->>'body' LIKE 'drill %' GROUP BY 1",
            )
        )
    )
    inboxes = Counter(
        dict(
            (body, int(n))
            for body, n in compose.sql(
                "messaging", "SELECT body, count(*) FROM messages WHERE body LIKE 'drill %' GROUP BY 1"
            )
        )
    )
    delivered = {marker for marker, status in ledger.messages if status == 201}
    lost += sum(1 for m in delivered if sent[m] != 1 or inboxes[m] != 1)
    doubled += sum(1 for m in sent if sent[m] > 1) + sum(1 for m in inboxes if inboxes[m] > 1)
    half += sum(1 for marker, status in ledger.messages if status != 201 and sent[marker] != inboxes[marker])
    events = sum(
        int(compose.sql(db, "SELECT count(*) FROM events")[0][0])
        for db in ("identity", "posts", "social_graph", "messaging")
    )
    return {
        "events": events,
        "posts_2xx": len(succeeded),
        "posts_failed": len(failed),
        "messages_2xx": len(delivered),
        "messages_failed": len(ledger.messages) - len(delivered),
        "failed_but_applied_once": failed_applied,
        "lost": lost,
        "doubled": doubled,
        "half_applied": half,
    }


def replay_equals_live(compose) -> dict:
    started = time.monotonic()
    out = compose.run("exec", "-T", "timeline-projector", "microblog", "replay", "timeline", timeout=600)
    schemas = re.search(r"now serving (\w+), previous version (\w+)", out)
    assert schemas, out
    new, old = schemas.groups()
    differences = {}
    for table in TIMELINE_TABLES:
        query = (
            f"SELECT count(*) FROM ((TABLE {old}.{table} EXCEPT ALL TABLE {new}.{table}) "
            f"UNION ALL (TABLE {new}.{table} EXCEPT ALL TABLE {old}.{table})) d"
        )
        count = int(compose.sql("timeline", query)[0][0])
        if count:
            differences[table] = count
    return {"seconds": round(time.monotonic() - started, 1), "live": old, "replayed": new, "differences": differences}
