"""Writers for the concurrent-appends test, run as an OS process of their own.

python -m microblog_testkit.appenders URL NAME --writers 8 --appends 25 --streams 20 [--slow]

`--writers` tasks, each with connections of its own, append `--appends` PostCreated events
each to streams `post-0` .. `post-<streams - 1>` picked at random (shared with the other
process: a stale version is retried), every transaction held open 0-10 ms after its insert so
that commits come out of order. With `--slow`, one more append (to `slow-<NAME>`) holds its
transaction open after its insert until at least 20 appends of later transactions have committed
(or 30 s): it prints `{"slow": <its transaction id>}` while open, `{"slow_committed": ...}` after.
Prints `{"appended": <count>}` at the end. Lines of JSON on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.events import PostCreated
from microblog_shared.runtime.db import create_engine
from microblog_shared.write.eventstore import ConcurrencyError, EventStore

LATER_COMMITS = 20  # appends of later transactions committed while the slow one is open, at least


def say(**line: object) -> None:
    print(json.dumps(line), flush=True)


def event(name: str, body: str) -> PostCreated:
    return PostCreated(
        post_id=random.randrange(1, 2**31),
        author_id=1,
        body=f"{name} {body}",
        language="en",
        created_at=datetime.now(UTC),
    )


async def jitter(_conn: AsyncConnection) -> None:
    await asyncio.sleep(random.uniform(0, 0.01))


async def writer(store: EventStore, name: str, number: int, appends: int, streams: int) -> int:
    for i in range(appends):
        while True:
            stream = f"post-{random.randrange(streams)}"
            try:
                await store.append(
                    stream, await store.version_of(stream), [event(name, f"{number}-{i}")], update_state=jitter
                )
                break
            except ConcurrencyError:
                continue  # another writer moved the stream on: read it again
    return appends


async def slow_append(store: EventStore, engine: AsyncEngine, name: str) -> int:
    held: list[int] = []

    async def hold(conn: AsyncConnection) -> None:
        xact = int(await conn.scalar(text("SELECT CAST(CAST(pg_current_xact_id() AS text) AS bigint)")))
        held.append(xact)
        say(slow=xact)
        deadline = time.monotonic() + 30
        async with engine.connect() as watcher:  # reads only: it takes no transaction id
            while time.monotonic() < deadline:
                later = await watcher.scalar(
                    text("SELECT count(*) FROM events WHERE xact > CAST(CAST(:x AS text) AS xid8)"), {"x": xact}
                )
                if later >= LATER_COMMITS:
                    break
                await asyncio.sleep(0.05)

    await store.append(f"slow-{name}", 0, [event(name, "slow")], update_state=hold)
    say(slow_committed=held[0])
    return 1


async def main(url: str, name: str, writers: int, appends: int, streams: int, slow: bool) -> None:
    engine = create_engine(url, pool_size=writers + 2)
    store = EventStore(engine, producer="appenders")
    try:
        tasks = [asyncio.create_task(writer(store, name, n, appends, streams)) for n in range(writers)]
        if slow:
            await asyncio.sleep(0.05)  # a few appends first: the slow one is not the oldest of all
            tasks.append(asyncio.create_task(slow_append(store, engine, name)))
        say(appended=sum(await asyncio.gather(*tasks)))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("name")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--appends", type=int, default=25)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--slow", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.url, args.name, args.writers, args.appends, args.streams, args.slow))
