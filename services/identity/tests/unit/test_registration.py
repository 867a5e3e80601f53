from datetime import UTC, datetime

import pytest

from identity.domain import InvalidRegistration, Registration, User, fold_user, register
from microblog_shared.events import PasswordSet, UserRegistered

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def test_registering_records_the_user_and_a_private_password_hash():
    registered, password = register(7, Registration("  susan ", "susan@example.com", "long enough"), "HASH", NOW)
    assert registered == UserRegistered(user_id=7, username="susan", email="susan@example.com", registered_at=NOW)
    assert password == PasswordSet(user_id=7, password_hash="HASH")
    assert "HASH" not in registered.model_dump_json()
    assert PasswordSet.topic is None


def test_a_registered_user_folds_from_its_events_at_version_two_last_seen_when_registered():
    user = fold_user(register(7, Registration("susan", "susan@example.com", "long enough", "hi"), "HASH", NOW))
    assert user == User(7, "susan", "susan@example.com", "hi", NOW, password_hash="HASH", last_seen=NOW, version=2)


@pytest.mark.parametrize(
    "registration, message",
    [
        (Registration("", "a@b.cd", "long enough"), "username"),
        (Registration("has space", "a@b.cd", "long enough"), "username"),
        (Registration("x" * 65, "a@b.cd", "long enough"), "username"),
        (Registration("nul\x00", "a@b.cd", "long enough"), "username"),
        (Registration("susan", "nope", "long enough"), "email"),
        (Registration("susan", "a@b", "long enough"), "email"),
        (Registration("susan", "a\x00@b.cd", "long enough"), "email"),
        (Registration("susan", "a" * 60 + "@" + "b" * 60 + ".cd", "long enough"), "email"),
        (Registration("susan", "a@b.cd", "short"), "password"),
        (Registration("susan", "a@b.cd", "x" * 257), "password"),
        (Registration("susan", "a@b.cd", "long enough", about_me="x" * 141), "about_me"),
        (Registration("susan", "a@b.cd", "long enough", about_me="bell\x07"), "about_me"),
    ],
)
def test_invalid_registrations_say_which_field_is_wrong(registration, message):
    with pytest.raises(InvalidRegistration, match=message):
        register(1, registration, "HASH", NOW)


def test_about_me_may_span_lines():
    registered, _ = register(1, Registration("susan", "a@b.cd", "long enough", about_me="one\ntwo\tthree"), "H", NOW)
    assert registered.about_me == "one\ntwo\tthree"
