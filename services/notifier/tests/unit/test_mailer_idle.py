"""The mailer's idle loop: a due mail held by another mailer is waited for, not spun on."""

import asyncio
from contextlib import asynccontextmanager

from notifier import mailer as mailer_module
from notifier.delivery import RetryPolicy
from notifier.mailer import Mailer


class Engine:
    @asynccontextmanager
    async def connect(self):
        yield None


async def test_a_mail_due_but_held_by_another_mailer_is_not_spun_on(monkeypatch):
    looks = 0

    async def due_now(conn) -> float:  # a mail is due, yet every claim skips it (another mailer holds it)
        nonlocal looks
        looks += 1
        return 0.0

    monkeypatch.setattr(mailer_module.outbox, "seconds_until_due", due_now)
    mailer = Mailer(
        Engine(), smtp=None, exports=None, sender="microblog@example.com", policy=RetryPolicy(), poll_seconds=0.2
    )

    async def nothing_claimable() -> bool:
        return False

    mailer.deliver_one = nothing_claimable
    stop = asyncio.Event()
    loop = asyncio.create_task(mailer._deliver_until(stop))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(loop, 1)
    assert 2 <= looks <= 4  # one look per poll, not thousands
