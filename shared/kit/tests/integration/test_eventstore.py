import asyncio
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from microblog_shared.events import PostCreated
from microblog_shared.runtime import context
from microblog_shared.write.eventstore import (
    ConcurrencyError,
    EventStore,
    LogCursor,
    Reservation,
    ReservationTaken,
    _version_before_any_write,
)


def post(n: int) -> PostCreated:
    return PostCreated(post_id=n, author_id=1, body=f"post {n}", language="en", created_at=datetime.now(UTC))


async def test_append_then_read_the_stream_back(store_engine):
    store = EventStore(store_engine, producer="posts")
    token = context.correlation_id.set("req-1")
    try:
        appended = await store.append("post-1", 0, [post(1), post(2)])
    finally:
        context.correlation_id.reset(token)
    assert [e.stream_version for e in appended] == [1, 2]
    assert appended[0].position < appended[1].position
    read = await store.read_stream("post-1")
    assert [e.payload["body"] for e in read] == ["post 1", "post 2"]
    assert {e.correlation_id for e in read} == {"req-1"}
    assert read[0].producer == "posts"


async def test_append_at_a_stale_version_is_a_conflict(store_engine):
    store = EventStore(store_engine, producer="posts")
    await store.append("post-1", 0, [post(1)])
    with pytest.raises(ConcurrencyError) as raised:
        await store.append("post-1", 0, [post(1)])
    assert (raised.value.expected, raised.value.actual) == (0, 1)
    assert len(await store.read_stream("post-1")) == 1


async def test_only_one_of_two_racing_writers_wins(store_engine):
    store = EventStore(store_engine, producer="posts")
    results = await asyncio.gather(*(store.append("post-7", 0, [post(i)]) for i in range(8)), return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, ConcurrencyError) for r in results if isinstance(r, Exception))


async def test_a_reservation_is_unique_and_taken_with_the_append(store_engine):
    store = EventStore(store_engine, producer="identity")
    await store.append("user-1", 0, [post(1)], reserve=[Reservation("username", "ada")])
    with pytest.raises(ReservationTaken):
        await store.append("user-2", 0, [post(2)], reserve=[Reservation("username", "ada")])
    assert await store.read_stream("user-2") == []  # nothing half-written
    assert await store.owner_of("username", "ada") == "user-1"


async def test_racing_reservations_of_one_value_leave_exactly_one_owner(store_engine):
    store = EventStore(store_engine, producer="identity")
    results = await asyncio.gather(
        *(store.append(f"user-{i}", 0, [post(i)], reserve=[Reservation("email", "a@b.c")]) for i in range(8)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    async with store_engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM events")) == 1


async def test_released_reservations_can_be_claimed_again(store_engine):
    store = EventStore(store_engine, producer="identity")
    await store.append("user-1", 0, [post(1)], reserve=[Reservation("username", "ada")])
    await store.append(
        "user-1", 1, [post(2)], release=[Reservation("username", "ada")], reserve=[Reservation("username", "ada2")]
    )
    await store.append("user-2", 0, [post(3)], reserve=[Reservation("username", "ada")])
    assert await store.owner_of("username", "ada") == "user-2"


async def test_the_settled_log_skips_nothing_while_appends_commit_out_of_order(store_engine):
    """BRIEF §7: a reader following the log must never skip a late commit."""
    store = EventStore(store_engine, producer="posts")
    seen: list[int] = []
    done = asyncio.Event()

    async def reader():
        after = LogCursor(0, 0)
        while not done.is_set() or await store.read_settled(after=after, limit=1):
            for cursor, envelope in await store.read_settled(after=after):
                seen.append(envelope.position)
                after = cursor
            await asyncio.sleep(0)

    async def jitter(conn):
        await asyncio.sleep(random.uniform(0, 0.005))  # commits come out of order

    async def writer(n):
        for i in range(25):
            await store.append(f"post-{n}-{i}", 0, [post(i)], update_state=jitter)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(6)))
    done.set()
    await reading
    assert sorted(seen) == sorted(e.position for e in await store.read_all()) and len(set(seen)) == 150


async def insert_raw(conn, stream_id: str) -> None:
    await conn.execute(
        text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
        occurred_at, producer, payload) VALUES (gen_random_uuid(), :s, 1, 'PostCreated', 1, now(), 'posts', '{}')"""),
        {"s": stream_id},
    )


async def test_a_slow_transaction_holds_the_settled_log_back_without_blocking_later_appends(store_engine):
    store = EventStore(store_engine, producer="posts")
    async with store_engine.connect() as slow:
        await slow.begin()
        await insert_raw(slow, "slow")  # an append in progress: its transaction id is drawn
        await asyncio.wait_for(store.append("fast", 0, [post(1)]), 5)  # not waiting for the slow one
        assert [e.stream_id for e in await store.read_all()] == ["fast"]  # a position reader would pass "slow"
        assert await store.read_settled() == []
        assert await store.count_after(LogCursor(0, 0)) == (1, True)
        await slow.commit()
    assert [e.stream_id for _, e in await store.read_settled()] == ["slow", "fast"]
    assert await store.count_after(LogCursor(0, 0)) == (2, False)


async def test_appends_to_different_streams_do_not_wait_for_each_other_but_one_stream_waits(store_engine):
    store = EventStore(store_engine, producer="posts")
    release = asyncio.Event()

    async def held(conn):
        await release.wait()

    holding = asyncio.create_task(store.append("post-1", 0, [post(1)], update_state=held))
    await asyncio.sleep(0.2)  # post-1's transaction is open, its event inserted
    assert [e.stream_version for e in await asyncio.wait_for(store.append("post-2", 0, [post(2)]), 5)] == [1]
    same_stream = asyncio.create_task(store.append("post-1", 0, [post(3)]))
    await asyncio.sleep(0.3)
    assert not same_stream.done(), "an append to the same stream waits for the stream's lock"
    release.set()
    await holding
    with pytest.raises(ConcurrencyError) as raised:
        await same_stream
    assert (raised.value.expected, raised.value.actual) == (0, 1)


async def test_a_batch_racing_an_append_of_the_same_version_is_a_conflict(store_engine):
    store = EventStore(store_engine, producer="posts")
    release = asyncio.Event()

    async def held(conn):
        await release.wait()

    holding = asyncio.create_task(store.append("post-1", 0, [post(1)], update_state=held))
    await asyncio.sleep(0.2)
    batch = asyncio.create_task(store.append_batch([("post-2", 0, [post(2)], []), ("post-1", 0, [post(3)], [])]))
    await asyncio.sleep(0.3)
    assert not batch.done(), "the batch's insert waits for the append that wrote the same version"
    release.set()
    await holding
    with pytest.raises(ConcurrencyError) as raised:
        await batch
    assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == ("post-1", 0, 1)
    assert [e.stream_id for e in await store.read_all()] == ["post-1"]


async def test_a_version_check_after_a_write_is_refused(store_engine):
    """The log's order within a stream needs the transaction id drawn after the version check."""
    async with store_engine.begin() as conn:
        await insert_raw(conn, "other")
        with pytest.raises(RuntimeError):
            await _version_before_any_write(conn, "post-1")


async def test_next_id_counts_up(store_engine):
    store = EventStore(store_engine, producer="identity")
    assert [await store.next_id("test_ids") for _ in range(3)] == [1, 2, 3]


async def test_state_updates_commit_or_roll_back_with_the_append(store_engine):
    store = EventStore(store_engine, producer="identity")
    async with store_engine.begin() as conn:
        await conn.execute(text("CREATE TABLE names (name text PRIMARY KEY)"))

    def insert(name):
        async def update(conn):
            await conn.execute(text("INSERT INTO names VALUES (:n)"), {"n": name})

        return update

    await store.append("user-1", 0, [post(1)], update_state=insert("ada"))
    with pytest.raises(ConcurrencyError):
        await store.append("user-1", 0, [post(2)], update_state=insert("bob"))
    with pytest.raises(DBAPIError):
        await store.append("user-3", 0, [post(3)], update_state=insert("ada"))  # the state write fails
    async with store_engine.connect() as conn:
        assert (await conn.execute(text("SELECT name FROM names"))).scalars().all() == ["ada"]
    assert await store.read_stream("user-3") == []


async def test_a_batch_appends_many_streams_in_order_with_reservations_and_one_state_update(store_engine):
    store = EventStore(store_engine, producer="identity")
    await store.append("user-1", 0, [post(1)])
    async with store_engine.begin() as conn:
        await conn.execute(text("CREATE TABLE names (name text PRIMARY KEY)"))

    async def insert_names(conn):
        await conn.execute(text("INSERT INTO names SELECT unnest(CAST(:n AS text[]))"), {"n": ["ada", "bob"]})

    appended = await store.append_batch(
        [
            ("user-1", 1, [post(2)], []),
            ("user-2", 0, [post(3), post(4)], [Reservation("username", "ada")]),
            ("user-3", 0, [post(5)], [Reservation("username", "bob"), Reservation("email", "bob@x.org")]),
        ],
        update_state=insert_names,
    )
    assert [(e.stream_id, e.stream_version) for e in appended] == [
        ("user-1", 2),
        ("user-2", 1),
        ("user-2", 2),
        ("user-3", 1),
    ]
    assert [e.position for e in appended] == sorted(e.position for e in appended)
    read = await store.read_all()
    assert [e.event_id for e in read[1:]] == [e.event_id for e in appended]
    assert [e.payload["body"] for e in read] == ["post 1", "post 2", "post 3", "post 4", "post 5"]
    assert await store.owner_of("email", "bob@x.org") == "user-3"
    async with store_engine.connect() as conn:
        assert (await conn.execute(text("SELECT name FROM names ORDER BY name"))).scalars().all() == ["ada", "bob"]


@pytest.mark.parametrize(
    "bad, error",
    [
        (("user-1", 0, [post(9)], []), ConcurrencyError),  # the stream is already at version 1
        (("user-8", 0, [post(9)], [Reservation("username", "ada")]), ReservationTaken),  # owned by user-1
        (("user-8", 0, [post(9)], [Reservation("username", "new")]), ReservationTaken),  # claimed twice in the batch
    ],
)
async def test_a_batch_with_one_bad_append_writes_nothing(store_engine, bad, error):
    store = EventStore(store_engine, producer="identity")
    await store.append("user-1", 0, [post(1)], reserve=[Reservation("username", "ada")])
    with pytest.raises(error):
        await store.append_batch([("user-7", 0, [post(7)], [Reservation("username", "new")]), bad])
    assert [e.stream_id for e in await store.read_all()] == ["user-1"]
    assert await store.owner_of("username", "new") is None
