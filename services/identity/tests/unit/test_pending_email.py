"""Email change decisions: pure functions over the User state, no store."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from identity import domain, pending_email
from identity.events import EmailChangeConfirmed
from microblog_shared.events import UserProfileUpdated

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
SUSAN = domain.User(1, "susan", "susan@example.com", "about", NOW, password_hash="h", version=2)


def asked(user: domain.User = SUSAN, email: str = "new@example.com", token: str = "t1") -> domain.User:
    return domain.fold_user(pending_email.request_change(user, email, token, NOW), user)


def test_a_request_records_the_pending_address_and_only_a_hash_of_its_token():
    user = asked()
    assert (user.email, user.pending_email, user.version) == ("susan@example.com", "new@example.com", 3)
    assert user.pending_token_hash == pending_email.token_hash("t1") != "t1"


@pytest.mark.parametrize(
    ("given", "expected"), [(None, None), ("susan@example.com", None), (" n@example.com ", "n@example.com")]
)
def test_only_a_different_address_is_a_change(given, expected):
    assert pending_email.new_address(SUSAN, given) == expected


def test_the_password_is_required_then_checked():
    with pytest.raises(pending_email.PasswordRequired):
        pending_email.check_password(False, False)
    with pytest.raises(domain.WrongPassword):
        pending_email.check_password(True, False)
    pending_email.check_password(True, True)


def claims(**overrides) -> dict:
    return pending_email.claims(SUSAN, "new@example.com", NOW, "nonce") | overrides


def test_confirming_the_newest_link_applies_the_address_and_clears_the_pending_change():
    events = pending_email.confirm(asked(), claims(), "t1", NOW)
    assert [type(e) for e in events] == [UserProfileUpdated, EmailChangeConfirmed]
    user = domain.fold_user(events, asked())
    assert (user.email, user.pending_email, user.pending_token_hash, user.about_me) == (
        "new@example.com",
        None,
        None,
        "about",
    )


@pytest.mark.parametrize(
    ("user", "verified", "token", "at"),
    [
        (SUSAN, claims(), "t1", NOW),  # nothing pending (or already confirmed)
        (asked(token="t2"), claims(), "t1", NOW),  # an older link
        (asked(), claims(email="thief@example.com"), "t1", NOW),
        (asked(), claims(purpose="password-reset"), "t1", NOW),
        (asked(), claims(), "t1", NOW + pending_email.EMAIL_CHANGE_LIFETIME),  # expired
        (asked(), claims(exp="soon"), "t1", NOW),
    ],
)
def test_a_link_that_is_not_the_newest_valid_one_is_refused(user, verified, token, at):
    with pytest.raises(pending_email.InvalidEmailChangeToken):
        pending_email.confirm(user, verified, token, at)


def test_an_edit_of_other_fields_keeps_the_pending_change():
    user = domain.fold_user(domain.update_profile(asked(), domain.ProfileChanges(about_me="new"), NOW), asked())
    assert (user.pending_email, user.about_me) == ("new@example.com", "new")
    assert replace(user, about_me="about", version=3) == asked()


def test_the_link_expires_after_a_day():
    assert pending_email.claims(SUSAN, "n@example.com", NOW, "x")["exp"] == int((NOW + timedelta(days=1)).timestamp())
