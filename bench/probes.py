"""Probes of issue 9's background paths: the unread badge after a message, and a big export."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import httpx
from rich.progress import Progress

from bench.dataset import PASSWORD, SENTENCES, Dataset
from bench.load import percentiles
from bench.platform import Platform
from bench.seed import BATCH, POST_COLUMNS, _advance, bulk_insert, chunks, post_created
from microblog_shared.runtime.db import create_engine
from microblog_shared.write.eventstore import EventStore


async def _badge(client: httpx.AsyncClient, token: str, since: float, wanted) -> float | None:
    """Poll the reader's notifications until the unread count satisfies `wanted`: when it did."""
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        answer = await client.get(
            "/api/notifications", params={"since": since}, headers={"Authorization": f"Bearer {token}"}
        )
        if answer.status_code == 200:
            counts = [n["data"] for n in answer.json() if n["name"] == "unread_message_count"]
            if counts and wanted(counts[-1]):
                return time.perf_counter()
    return None


async def badge_lag(base_url: str, pairs: list[tuple[str, str, int]], seconds: float) -> dict:
    """Send a message, poll the recipient's badge until it counts it; read the inbox, poll until 0.

    `pairs` are (sender token, recipient token, recipient id). No consistency token is passed:
    this is how long the notifier takes to show what happened, as the web UI's polling sees it.
    """
    raised, cleared, errors, probe = [], [], 0, 0
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        while time.monotonic() - started < seconds:
            sender, recipient, recipient_id = pairs[probe % len(pairs)]
            probe += 1
            since = time.time() - 1
            sent = await client.post(
                f"/api/users/{recipient_id}/messages",
                json={"body": f"badge probe {probe}"},
                headers={"Authorization": f"Bearer {sender}"},
            )
            answered = time.perf_counter()
            seen = await _badge(client, recipient, since, lambda count: count >= 1) if sent.status_code == 201 else None
            if seen is None:
                errors += 1
                continue
            raised.append(seen - answered)
            since = time.time() - 1
            read = await client.get("/api/messages", headers={"Authorization": f"Bearer {recipient}"})
            answered = time.perf_counter()
            gone = await _badge(client, recipient, since, lambda count: count == 0) if read.status_code == 200 else None
            if gone is None:
                errors += 1
            else:
                cleared.append(gone - answered)
    return {"probes": probe, "errors": errors, "raised": percentiles(raised), "cleared": percentiles(cleared)}


async def _seed_author(posts_database: str, author_id: int, count: int, first_id: int, data: Dataset) -> None:
    """`count` posts by one author straight into posts' event store and `posts` table, as the seeder does."""
    engine = create_engine(posts_database)
    store = EventStore(engine, producer="posts")
    numbered = [
        (first_id + n, data.now - timedelta(minutes=count - n), SENTENCES[n % len(SENTENCES)][0]) for n in range(count)
    ]
    try:
        for batch in chunks(numbered, BATCH):
            appends, rows = [], []
            for post_id, at, sentence in batch:
                body = f"{sentence} #{post_id}"
                appends.append(post_created(post_id, author_id, body, "", at))
                rows.append((post_id, author_id, body, "", at))
            await store.append_batch(appends, bulk_insert("posts", POST_COLUMNS, rows))
        await _advance(store, "post_ids", numbered[-1][0])
    finally:
        await engine.dispose()


def _mail_with_attachment(folder: Path, username: str) -> bool:
    """Whether the dev stack's mail sink holds the export mail for `username` (attachment included)."""
    for path in folder.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            if b"posts.json" in raw and f"{username}@".encode() in raw:
                return True
    return False


async def export_account(platform: Platform, data: Dataset, count: int, progress: Progress) -> dict:
    """A new account with `count` posts asks for its export: time to 100 %, to the mail, and memory."""
    username = f"exporter{int(time.time())}"
    async with httpx.AsyncClient(base_url=platform.url, timeout=30.0) as client:
        made = await client.post(
            "/api/users", json={"username": username, "email": f"{username}@bench.example", "password": PASSWORD}
        )
        made.raise_for_status()
        await _seed_author(platform.urls["posts"], made.json()["id"], count, len(data.posts) + 1, data)
        token = (await client.post("/api/tokens", auth=(username, PASSWORD))).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        processes = platform.processes()
        exporter, mailer = processes["posts exporter"][0], processes["notifier mailer"][0]
        rss = {"exporter": [exporter.memory_info().rss], "mailer": [mailer.memory_info().rss]}
        task = progress.add_task(f"exporting {count:,} posts", total=100)
        started = time.perf_counter()
        answer = await client.post("/api/exports", headers=auth)
        answer.raise_for_status()
        task_id, complete_at, mailed_at = answer.json()["id"], None, None
        mail_folder = platform.stack.data_dir / "mail"
        while mailed_at is None and time.perf_counter() - started < 600:
            rss["exporter"].append(exporter.memory_info().rss)
            rss["mailer"].append(mailer.memory_info().rss)
            if complete_at is None:
                state = (await client.get(f"/api/tasks/{task_id}", headers=auth)).json()
                progress.update(task, completed=state["progress"])
                if state["complete"]:
                    complete_at = time.perf_counter()
            elif await asyncio.to_thread(_mail_with_attachment, mail_folder, username):
                mailed_at = time.perf_counter()
            await asyncio.sleep(0.05)
    if complete_at is None or mailed_at is None:
        raise TimeoutError(f"the export of {count} posts did not complete and arrive by mail in 600 s")
    mb = lambda values: round(values / 2**20, 1)  # noqa: E731
    return {
        "posts": count,
        "complete_seconds": round(complete_at - started, 2),
        "mail_seconds": round(mailed_at - started, 2),
        "exporter_peak_rss_mb": mb(max(rss["exporter"])),
        "exporter_rss_growth_mb": mb(max(rss["exporter"]) - rss["exporter"][0]),
        "mailer_peak_rss_mb": mb(max(rss["mailer"])),
        "mailer_rss_growth_mb": mb(max(rss["mailer"]) - rss["mailer"][0]),
    }
