import asyncio
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from microblog_shared.events import Envelope, PasswordSet, PostCreated, UserRegistered
from microblog_shared.write.eventstore import RENUMBER_AFTER_RESTORE, EventStore
from microblog_shared.write.relay import OutboxRelay


def post(n: int) -> PostCreated:
    return PostCreated(post_id=n, author_id=1, body=f"post {n}", language="en", created_at=datetime.now(UTC))


def user(n: int) -> UserRegistered:
    return UserRegistered(user_id=n, username=f"u{n}", email=f"u{n}@x.io", registered_at=datetime.now(UTC))


async def consume_all(bus, topic: str, expected: int, group: str = "check") -> list[Envelope]:
    consumer = bus.consumer(group, [topic])
    await consumer.start()
    got = []
    deadline = time.monotonic() + 30
    try:
        while len(got) < expected:
            assert time.monotonic() < deadline, len(got)
            got.extend(Envelope.from_bytes(r.value) for r in await consumer.poll(timeout=0.5))
    finally:
        await consumer.stop()
    return got


async def test_relay_publishes_each_stream_in_order_to_its_topic(store_engine, bus):
    store = EventStore(store_engine, producer="test")
    for version in range(5):
        for stream in range(4):
            await store.append(f"post-{stream}", version, [post(version)])
    await store.append("user-1", 0, [user(1), PasswordSet(user_id=1, password_hash="secret-hash")])
    relay = OutboxRelay(store, bus)
    assert await relay.backlog() == 22
    assert await relay.publish_pending(batch=7) == 7
    while await relay.publish_pending(batch=7):
        pass
    assert await relay.backlog() == 0
    posts = await consume_all(bus, "posts.posts", 20)
    for stream in range(4):
        versions = [e.stream_version for e in posts if e.stream_id == f"post-{stream}"]
        assert versions == [1, 2, 3, 4, 5]
    users = await consume_all(bus, "identity.users", 1)
    assert [u.type for u in users] == ["UserRegistered"]  # PasswordSet is private: never relayed


async def test_relay_resumes_from_its_recorded_position_after_a_crash(store_engine, bus, monkeypatch):
    store = EventStore(store_engine, producer="test")
    for n in range(10):
        await store.append(f"post-{n}", 0, [post(n)])
    relay = OutboxRelay(store, bus)
    await relay.publish_pending(batch=4)

    async def crash(conn, cursor, relayed):
        raise ConnectionError("relay died after publishing, before recording")

    monkeypatch.setattr(relay, "_record", crash)
    with pytest.raises(ConnectionError):
        await relay.publish_pending(batch=4)
    monkeypatch.undo()

    restarted = OutboxRelay(store, bus)
    assert (await restarted.progress()).relayed == 4
    while await restarted.publish_pending(batch=4):
        pass
    got = await consume_all(bus, "posts.posts", 14)
    assert sorted({e.stream_id for e in got}) == sorted(f"post-{n}" for n in range(10))
    assert len(got) == 14  # at least once: the crashed batch of four went out twice


async def test_running_relay_publishes_new_appends_at_once(store_engine, bus):
    store = EventStore(store_engine, producer="test")
    relay = OutboxRelay(store, bus)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    consumer = bus.consumer("watch", ["posts.posts"])
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.poll(timeout=0.2)
        started = time.monotonic()
        await store.append("post-1", 0, [post(1)])
        got = []
        while not got and time.monotonic() - started < 10:
            got = await consumer.poll(timeout=0.1)
        latency = time.monotonic() - started
    finally:
        await consumer.stop()
        stop.set()
        await running
    assert Envelope.from_bytes(got[0].value).stream_id == "post-1"
    assert latency < 0.9, f"{latency:.2f} s: the relay should wake on NOTIFY, not on its one-second fallback"


async def test_after_a_logical_restore_the_relay_refuses_until_renumbered_then_skips_nothing(store_engine, bus):
    store = EventStore(store_engine, producer="test")
    for n in range(6):
        await store.append(f"post-{n}", 0, [post(n)])
    relay = OutboxRelay(store, bus)
    await relay.publish_pending(batch=4)
    async with store_engine.begin() as conn:  # as if dumped from a server whose transaction ids ran far ahead
        await conn.execute(
            text("UPDATE events SET xact = CAST(CAST(CAST(xact AS text) AS bigint) + 10000000 AS text)::xid8")
        )
        await conn.execute(
            text("UPDATE relay_positions SET xact = CAST(CAST(CAST(xact AS text) AS bigint) + 10000000 AS text)::xid8")
        )
    assert await store.transaction_ids_ahead()
    with pytest.raises(RuntimeError, match="RENUMBER_AFTER_RESTORE"):
        await relay.run(asyncio.Event())
    async with store_engine.begin() as conn:
        for statement in RENUMBER_AFTER_RESTORE:
            await conn.execute(text(statement))
    assert not await store.transaction_ids_ahead()
    await store.append("post-new", 0, [post(9)])
    while await relay.publish_pending(batch=4):
        pass
    got = await consume_all(bus, "posts.posts", 7)
    assert {e.stream_id for e in got} == {*(f"post-{n}" for n in range(6)), "post-new"}
    assert len(got) == 7 and await relay.backlog() == 0
