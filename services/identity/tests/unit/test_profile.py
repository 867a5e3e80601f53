from datetime import UTC, datetime, timedelta

import pytest

from identity import domain
from identity.domain import ProfileChanges, User
from microblog_shared.events import PasswordSet, UserProfileUpdated, UserSeen

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
SUSAN = User(1, "susan", "susan@example.com", "hello", NOW - timedelta(days=3), password_hash="OLD", version=2)


def test_a_profile_edit_records_every_current_value():
    events = domain.update_profile(SUSAN, ProfileChanges(about_me="new me"), NOW)
    assert events == [
        UserProfileUpdated(user_id=1, username="susan", email="susan@example.com", about_me="new me", updated_at=NOW)
    ]


def test_a_profile_edit_trims_the_new_username_and_email():
    [event] = domain.update_profile(SUSAN, ProfileChanges(username=" sue ", email=" sue@example.com "), NOW)
    assert (event.username, event.email, event.about_me) == ("sue", "sue@example.com", "hello")


def test_an_edit_that_changes_nothing_is_still_recorded_so_it_has_a_token():
    [event] = domain.update_profile(SUSAN, ProfileChanges(username="susan", about_me="hello"), NOW)
    assert (event.username, event.about_me) == ("susan", "hello")


def test_a_change_of_case_is_a_change():
    assert domain.update_profile(SUSAN, ProfileChanges(username="Susan"), NOW)[0].username == "Susan"


@pytest.mark.parametrize(
    "changes, message",
    [
        (ProfileChanges(username=""), "username"),
        (ProfileChanges(username="two words"), "username"),
        (ProfileChanges(username=".."), "username"),
        (ProfileChanges(username="a/b"), "username"),
        (ProfileChanges(email="not-an-address"), "email"),
        (ProfileChanges(about_me="x" * 141), "about_me"),
    ],
)
def test_invalid_profile_edits_say_which_field_is_wrong(changes, message):
    with pytest.raises(domain.InvalidProfile, match=message):
        domain.update_profile(SUSAN, changes, NOW)


def test_about_me_can_be_emptied():
    assert domain.update_profile(SUSAN, ProfileChanges(about_me=""), NOW)[0].about_me == ""


def test_folding_a_profile_update_replaces_the_values_and_moves_the_version():
    events = domain.update_profile(SUSAN, ProfileChanges(username="sue"), NOW)
    assert domain.fold_user(events, SUSAN) == User(
        1, "sue", "susan@example.com", "hello", SUSAN.registered_at, password_hash="OLD", version=3
    )


def test_a_password_change_needs_the_current_password():
    with pytest.raises(domain.WrongPassword, match="current password is wrong"):
        domain.check_password_change(False, "a fine new password")


def test_a_new_password_follows_the_registration_rules():
    with pytest.raises(domain.InvalidPassword, match="at least 8"):
        domain.check_password_change(True, "short")
    domain.check_password_change(True, "long enough")


def test_setting_a_password_records_only_its_hash():
    events = domain.set_password(SUSAN, "NEW")
    assert events == [PasswordSet(user_id=1, password_hash="NEW")]
    assert domain.fold_user(events, SUSAN).password_hash == "NEW"


def test_the_first_activity_is_recorded():
    assert domain.see(SUSAN, NOW) == [UserSeen(user_id=1, last_seen=NOW)]


def test_activity_within_a_minute_of_the_last_record_is_not_recorded_again():
    seen = domain.fold_user(domain.see(SUSAN, NOW), SUSAN)
    assert seen.last_seen == NOW and seen.version == 3
    assert domain.see(seen, NOW + domain.SEEN_INTERVAL - timedelta(microseconds=1)) == []
    assert domain.see(seen, NOW + domain.SEEN_INTERVAL) == [UserSeen(user_id=1, last_seen=NOW + domain.SEEN_INTERVAL)]


def test_a_user_fold_refuses_events_of_another_aggregate():
    with pytest.raises(TypeError):
        domain.fold_user(domain.start_session("a" * 32, 1, "H", NOW), SUSAN)


def test_a_name_from_before_the_username_rules_is_kept_when_the_edit_leaves_it_as_it_is():
    odd = User(2, "..", "odd@example.com", "", NOW, version=2)
    [event] = domain.update_profile(odd, ProfileChanges(username="..", about_me="still me"), NOW)
    assert (event.username, event.about_me) == ("..", "still me")
