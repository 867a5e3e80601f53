"""Notifications through the read API: unread message counts, task progress, `since`."""

from datetime import UTC, datetime

import pytest

from microblog_shared.events import ExportProgressed, ExportRequested


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_message_raises_the_unread_count_and_reading_the_inbox_clears_it(notifier):
    await notifier.register(1, "susan")
    await notifier.message(10, sender=2, recipient=1)
    await notifier.message(11, sender=3, recipient=1)
    (count,) = (await notifier.notifications(1)).json()
    assert (count["name"], count["data"]) == ("unread_message_count", 2)

    read = await notifier.read_inbox(1, up_to=11)
    (count,) = (await notifier.notifications(1, token=notifier.events.token(read))).json()
    assert count["data"] == 0
    assert (await notifier.notifications(2)).json() == []  # the sender has nothing new


async def test_since_returns_only_newer_notifications_oldest_first(notifier):
    await notifier.emit(
        "export-t1",
        ExportRequested(
            task_id="t1", user_id=1, name="export_posts", description="Exporting posts...", total=3, requested_at=now()
        ),
    )
    await notifier.message(10, sender=2, recipient=1)
    everything = (await notifier.notifications(1)).json()
    assert [n["name"] for n in everything] == ["task_progress", "unread_message_count"]
    assert everything[0]["data"] == {"task_id": "t1", "progress": 0}
    assert everything[0]["timestamp"] < everything[1]["timestamp"]

    newer = (await notifier.notifications(1, since=everything[0]["timestamp"])).json()
    assert [n["name"] for n in newer] == ["unread_message_count"]
    assert (await notifier.notifications(1, since=everything[1]["timestamp"])).json() == []

    await notifier.emit(
        "export-t1",
        ExportProgressed(task_id="t1", user_id=1, exported=2, total=3, progress=66, after_post_id=2, at=now()),
    )
    (progress,) = (await notifier.notifications(1, since=everything[1]["timestamp"])).json()
    assert progress["data"] == {"task_id": "t1", "progress": 66}  # one current row per name, replaced


async def test_a_redelivered_message_is_counted_once(notifier):
    sent = await notifier.message(10, sender=2, recipient=1)
    await notifier.events.publish(sent)  # a relay re-send: same envelope, new bus offset
    await notifier.message(11, sender=2, recipient=1)
    await notifier.events.publish(sent)
    (count,) = (await notifier.notifications(1)).json()
    assert count["data"] == 2


@pytest.mark.parametrize("since", ["nan", "NaN", "inf", "-inf", "-1", "yesterday", "1e400", ""])
async def test_a_bad_since_is_a_400_json_error(notifier, since):
    response = await notifier.client.get("/notifications", params={"since": since}, headers={"X-User-Id": "1"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Bad Request"


async def test_notifications_need_the_caller(notifier):
    response = await notifier.client.get("/notifications")
    assert response.status_code == 401
    malformed = await notifier.client.get("/notifications", headers={"X-User-Id": "1", "X-Consistency-Token": "x"})
    assert malformed.status_code == 400
