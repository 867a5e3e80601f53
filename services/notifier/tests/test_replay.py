"""A replay rebuilds the notifier's tables equal to the live ones, and mails nobody again."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from microblog_shared.events import ExportCompleted, ExportProgressed, ExportRequested, PasswordResetRequested
from microblog_shared.read.replay import Replay, projection_specs
from notifier.projection import SPEC

TABLES = {"users": "id", "unread_messages": "user_id, message_id", "notifications": "user_id, name"}


def now() -> datetime:
    return datetime.now(UTC)


async def tables(engine, schema: str) -> dict[str, list]:
    async with engine.connect() as conn:
        return {
            table: (await conn.execute(text(f'SELECT * FROM "{schema}".{table} ORDER BY {order}'))).all()
            for table, order in TABLES.items()
        }


async def test_the_notifier_publishes_its_projection_for_operators():
    assert projection_specs()["notifier"] is SPEC


async def test_a_replay_builds_the_same_tables_and_queues_no_mail(notifier, bus):
    for user in range(1, 6):
        await notifier.register(user, f"user{user}")
    for message in range(1, 41):
        await notifier.message(message, sender=message % 5 + 1, recipient=(message + 1) % 5 + 1)
    await notifier.read_inbox(2, up_to=20)
    await notifier.emit(
        "user-3",
        PasswordResetRequested(
            user_id=3, username="user3", email="user3@example.com", token="t", expires_at=now() + timedelta(minutes=10)
        ),
    )
    notifier.exports.files["t1"] = (4, [])
    await notifier.emit(
        "export-t1",
        ExportRequested(task_id="t1", user_id=4, name="export_posts", description="", total=0, requested_at=now()),
    )
    await notifier.emit(
        "export-t1",
        ExportProgressed(task_id="t1", user_id=4, exported=0, total=0, progress=50, after_post_id=0, at=now()),
    )
    await notifier.emit("export-t1", ExportCompleted(task_id="t1", user_id=4, post_count=0, completed_at=now()))
    await notifier.settled()
    await notifier.mails(2)
    live = await tables(notifier.app.state.engine, "public")

    result = await Replay(SPEC, notifier.settings, bus, close_enough=0).run()
    assert (result.previous, result.schema) == ("public", "notifier_v1")
    assert await tables(notifier.app.state.engine, "notifier_v1") == live
    assert len(await notifier.outbox()) == 2  # the replay found both mails queued already
    assert len(notifier.sink.messages()) == 2

    # The live projector goes on in the new version, and the API reads it.
    await notifier.message(41, sender=1, recipient=2)
    (count,) = (await notifier.notifications(2)).json()
    assert count["data"] == len([m for m in range(21, 42) if (m + 1) % 5 + 1 == 2 or m == 41])
