from datetime import UTC, datetime

import pytest

from identity.domain import InvalidRegistration, Registration, User, fold_user, register
from microblog_shared.events import PasswordSet, UserRegistered

NOW = datetime(2026, 11, 24, tzinfo=UTC)
# Path trouble ('.', '..', '/', '%', '?', '#'), blanks and controls, and dots or dashes at either end.
BAD_NAMES = [
    ".",
    "..",
    "...",
    "a/b",
    "50%",
    "a?b",
    "a#b",
    "tab\tbed",
    "bell\x07",
    ".susan",
    "susan.",
    "-susan",
    "susan-",
]


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
        *[(Registration(name, "a@b.cd", "long enough"), "username") for name in BAD_NAMES],
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


@pytest.mark.parametrize("name", ["susan", "x", "_", "Susan_2", "mary.jane", "jean-luc", "user" + "0123456789"])
def test_letters_digits_and_underscores_with_inner_dots_and_dashes_are_usernames(name):
    assert register(1, Registration(name, "a@b.cd", "long enough"), "H", NOW)[0].username == name


def test_a_username_is_nfkc_normalised_so_look_alikes_become_the_plain_name():
    registered, _ = register(1, Registration("\uff53\uff55\uff53\uff41\uff4e", "a@b.cd", "long enough"), "H", NOW)
    assert registered.username == "susan"  # fullwidth "ｓｕｓａｎ"
