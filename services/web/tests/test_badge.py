"""BadgeCache: a session's badge, trusted for a few seconds, kept current by what the polling saw."""

import time

from web.badge import BadgeCache


def test_a_badge_is_trusted_for_its_seconds_only():
    cache = BadgeCache(0.2)
    assert cache.get("token") is None
    cache.put("token", 3, 12.5)
    badge = cache.get("token")
    assert badge is not None and (badge.unread, badge.since) == (3, 12.5)
    assert cache.get("another token") is None
    time.sleep(0.25)
    assert cache.get("token") is None


def test_zero_seconds_remembers_nothing():
    cache = BadgeCache(0)
    cache.put("token", 3, 12.5)
    assert cache.get("token") is None


def test_the_oldest_session_goes_first_when_full():
    cache = BadgeCache(60, size=2)
    cache.put("a", 1, 1.0)
    cache.put("b", 2, 1.0)
    cache.put("a", 1, 2.0)  # a is the newest now
    cache.put("c", 3, 1.0)
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_the_polling_updates_the_count_and_an_export_makes_pages_ask():
    cache = BadgeCache(60)
    cache.put("token", 0, 10.0)
    cache.heard("token", [])
    assert cache.get("token").unread == 0
    cache.heard("token", [{"name": "unread_message_count", "data": 2, "timestamp": 11.0}])
    assert (cache.get("token").unread, cache.get("token").since) == (2, 11.0)
    cache.heard("token", [{"name": "task_progress", "data": {"task_id": "t", "progress": 10}, "timestamp": 12.0}])
    assert cache.get("token") is None
    cache.heard("other", [{"name": "unread_message_count", "data": 1, "timestamp": 3.0}])
    assert cache.get("other").unread == 1


def test_a_sessions_reset_mark_outranks_older_badges_for_its_seconds_only():
    here, there = BadgeCache(0.3), BadgeCache(0.3)  # two workers' caches
    there.put("token", 3, 5.0)
    mark = here.reset_mark("token", 0, 6.0)
    assert (here.get("token", mark).unread, there.get("token", mark).unread) == (0, 0)
    assert there.get("token").unread == 3  # without the session's mark, what that worker knew
    there.heard("token", [{"name": "unread_message_count", "data": 1, "timestamp": 7.0}])
    assert there.get("token", mark).unread == 1  # learnt after the reset: newer
    assert there.get("token", "not a mark").unread == 1
    time.sleep(0.35)
    assert here.get("token", mark) is None and there.get("token", mark) is None
