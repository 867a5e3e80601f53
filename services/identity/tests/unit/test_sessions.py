from datetime import UTC, datetime, timedelta

import pytest

from identity import domain
from identity.events import RefreshTokenRotated, SessionStarted
from microblog_shared.events import SessionRevoked

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
SID = "0123456789abcdef0123456789abcdef"
HOUR = timedelta(hours=1)


def started() -> domain.Session:
    return domain.fold_session(domain.start_session(SID, 7, "H1", NOW))


def test_a_login_starts_a_session_whose_refresh_token_lives_seven_days():
    [event] = domain.start_session(SID, 7, "H1", NOW)
    assert event == SessionStarted(
        session_id=SID, user_id=7, refresh_hash="H1", started_at=NOW, expires_at=NOW + timedelta(days=7)
    )
    assert SessionStarted.topic is None and RefreshTokenRotated.topic is None
    session = started()
    assert (session.generation, session.version, session.active(NOW)) == (1, 1, True)


def test_rotating_the_current_refresh_token_issues_the_next_generation():
    later = NOW + HOUR
    events = domain.rotate_refresh_token(started(), 1, "H2", later)
    assert events == [
        RefreshTokenRotated(session_id=SID, refresh_hash="H2", generation=2, expires_at=later + domain.REFRESH_LIFETIME)
    ]
    rotated = domain.fold_session(events, started())
    assert (rotated.generation, rotated.refresh_expires_at, rotated.version) == (2, later + timedelta(days=7), 2)


def test_presenting_an_older_generation_is_reuse():
    rotated = domain.fold_session(domain.rotate_refresh_token(started(), 1, "H2", NOW), started())
    with pytest.raises(domain.RefreshTokenReused):
        domain.rotate_refresh_token(rotated, 1, "H3", NOW)


def test_reuse_is_detected_even_on_a_revoked_session():
    rotated = domain.fold_session(domain.rotate_refresh_token(started(), 1, "H2", NOW), started())
    revoked = domain.fold_session(domain.revoke(rotated, "logout", NOW, HOUR), rotated)
    with pytest.raises(domain.RefreshTokenReused):
        domain.rotate_refresh_token(revoked, 1, "H3", NOW)


def test_a_revoked_session_cannot_be_refreshed():
    revoked = domain.fold_session(domain.revoke(started(), "logout", NOW, HOUR), started())
    with pytest.raises(domain.RefreshRejected, match="revoked"):
        domain.rotate_refresh_token(revoked, 1, "H2", NOW)


def test_an_expired_refresh_token_is_rejected():
    with pytest.raises(domain.RefreshRejected, match="expired"):
        domain.rotate_refresh_token(started(), 1, "H2", NOW + domain.REFRESH_LIFETIME)
    assert not started().active(NOW + domain.REFRESH_LIFETIME)


def test_revoking_kills_access_tokens_for_their_remaining_lifetime():
    [event] = domain.revoke(started(), "logout", NOW, HOUR)
    assert event == SessionRevoked(
        session_id=SID, user_id=7, reason="logout", revoked_at=NOW, tokens_expire_at=NOW + HOUR
    )
    assert SessionRevoked.topic == "identity.sessions"
    revoked = domain.fold_session([event], started())
    assert not revoked.active(NOW) and revoked.tokens_expire_at == NOW + HOUR


def test_revoking_twice_records_nothing_the_second_time():
    revoked = domain.fold_session(domain.revoke(started(), "logout", NOW, HOUR), started())
    assert domain.revoke(revoked, "logout", NOW + HOUR, HOUR) == []
