"""The retry rules every write service applies to an Idempotency-Key it has seen before."""

from datetime import UTC, datetime, timedelta

import pytest

from microblog_shared.write.idempotency import KEY_LIFETIME, KeyReused, check_retry

FIRST = datetime(2026, 12, 4, tzinfo=UTC)


def test_the_same_request_within_24_hours_is_a_retry():
    check_retry(True, FIRST, FIRST + KEY_LIFETIME)


def test_another_body_is_refused_however_soon():
    with pytest.raises(KeyReused, match="another body"):
        check_retry(False, FIRST, FIRST)


def test_the_same_request_after_24_hours_is_refused():
    with pytest.raises(KeyReused, match="24 hours"):
        check_retry(True, FIRST, FIRST + KEY_LIFETIME + timedelta(microseconds=1))
