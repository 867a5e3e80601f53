"""`python -m bench.appends`: concurrent appends per second into one event store (issue 18, point 1).

uv run --frozen python -m bench.appends --writers 32 --seconds 10 --hold-ms 0 --hold-ms 5

Its own embedded PostgreSQL in a temporary folder, one database with the event store's schema,
`--writers` tasks on one engine (a pool as large) each appending one event to a new stream per
command, for `--seconds`. `--hold-ms` keeps each append's transaction open that long after its
insert (through the append's state update), as a slower state write or a farther database would:
with one append at a time per service it caps the rate near 1000 / hold-ms. Prints one line per
hold. A micro-benchmark on a shared machine: read the load average beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from microblog_dev.embedded_postgres import EmbeddedPostgres
from microblog_shared.events import PostCreated
from microblog_shared.runtime.db import create_engine
from microblog_shared.write import eventstore
from microblog_shared.write.eventstore import EventStore


async def measure(url: str, writers: int, seconds: float, hold: float) -> tuple[int, float]:
    engine = create_engine(url, pool_size=writers)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS events, reservations, relay_positions")
        for statement in eventstore.SCHEMA:
            await conn.exec_driver_sql(statement)
    store = EventStore(engine, producer="bench")

    async def slow_state(_conn) -> None:
        await asyncio.sleep(hold)

    count = 0
    deadline = time.monotonic() + seconds

    async def writer(n: int) -> None:
        nonlocal count
        i = 0
        while time.monotonic() < deadline:
            i += 1
            event = PostCreated(post_id=i, author_id=n, body="x", language="en", created_at=datetime.now(UTC))
            await store.append(f"post-{n}-{i}", 0, [event], update_state=slow_state if hold else None)
            count += 1

    started = time.monotonic()
    await asyncio.gather(*(writer(n) for n in range(writers)))
    elapsed = time.monotonic() - started
    await engine.dispose()
    return count, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hold-ms", type=float, action="append", help="repeatable; default 0 and 5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-appends-") as folder:
        server = EmbeddedPostgres(Path(folder))
        server.start()
        try:
            url = server.create_database("appends")
            for hold_ms in args.hold_ms or [0.0, 5.0]:
                load = os.getloadavg()[0]
                count, elapsed = asyncio.run(measure(url, args.writers, args.seconds, hold_ms / 1000))
                print(
                    f"{args.writers} writers, transaction held {hold_ms:g} ms: {count:,} appends "
                    f"in {elapsed:.1f} s = {count / elapsed:,.0f} appends/s (load average before: {load:.2f})"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
