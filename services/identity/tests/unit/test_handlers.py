"""Identity's handlers over the in-memory store (conftest): no database, argon2 for real."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from identity import domain, email_changes, handlers, pending_email, resets
from microblog_shared.events import UserProfileUpdated, UserSeen
from microblog_shared.write.port import ConcurrencyError

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
POLICY = handlers.TokenPolicy(secret="unit-test-secret-of-enough-length", access_minutes=15)
PASSWORD = "long enough"


async def register(store, name="susan", email=None):
    request = domain.Registration(name, email or f"{name}@example.com", PASSWORD)
    appended = await handlers.register_user(store, request, NOW)
    return appended[0].payload["user_id"]


async def edit(store, user_id, changes, current_password=None):
    return await email_changes.edit_profile(store, user_id, changes, current_password, POLICY.secret, NOW)


def types(store, stream):
    return [envelope.type for envelope in store.streams.get(stream, [])]


def someone_sees(user_id, at):
    def see(store):
        version = len(store.streams[f"user-{user_id}"])
        store.append_now(f"user-{user_id}", version, [UserSeen(user_id=user_id, last_seen=at)])

    return see


async def test_registering_appends_the_user_and_its_private_password_on_a_new_stream(store):
    user_id = await register(store)
    stream = store.streams[f"user-{user_id}"]
    assert [(e.type, e.stream_version, e.producer) for e in stream] == [
        ("UserRegistered", 1, "identity"),
        ("PasswordSet", 2, "identity"),
    ]
    assert stream[0].payload == {
        "user_id": user_id,
        "username": "susan",
        "email": "susan@example.com",
        "about_me": "",
        "registered_at": "2026-11-24T12:00:00Z",
    }
    assert stream[1].payload["password_hash"].startswith("$argon2")
    assert store.reservations == {
        ("username", "susan"): f"user-{user_id}",
        ("email", "susan@example.com"): f"user-{user_id}",
    }


async def test_a_username_or_email_taken_in_any_case_refuses_the_registration(store):
    await register(store, "susan")
    with pytest.raises(domain.InvalidRegistration, match="different username"):
        await register(store, "SUSAN", "other@example.com")
    with pytest.raises(domain.InvalidRegistration, match="different email"):
        await register(store, "john", "Susan@Example.com")
    assert [s for s in store.streams if s.startswith("user-")] == ["user-1"]


async def test_a_look_alike_of_a_taken_username_is_refused(store):
    await register(store, "susan")
    with pytest.raises(domain.InvalidRegistration, match="different username"):
        await register(store, "\uff33\uff55\uff53\uff41\uff4e", "other@example.com")  # fullwidth "Ｓusan"


def test_the_username_reservation_key_is_nfkc_casefolded():
    assert domain.username_key("\uff33\uff55\uff53\uff41\uff4e") == domain.username_key("SUSAN") == "susan"


async def test_a_new_username_releases_the_old_one_for_others(store):
    susan = await register(store, "susan")
    user, appended, _ = await edit(store, susan, domain.ProfileChanges(username="sue"))
    assert (user.username, user.version, appended[-1].stream_version) == ("sue", 3, 3)
    assert appended[-1].type == "UserProfileUpdated"
    assert ("username", "susan") not in store.reservations
    assert await register(store, "susan", "new@example.com") != susan


async def test_a_profile_edit_that_lost_a_race_is_decided_again_on_the_new_version(store):
    susan = await register(store)
    store.before_next_appends.append(someone_sees(susan, NOW))
    user, appended, _ = await edit(store, susan, domain.ProfileChanges(about_me="hi"))
    assert (user.about_me, user.last_seen, appended[-1].stream_version) == ("hi", NOW, 4)
    assert types(store, f"user-{susan}") == ["UserRegistered", "PasswordSet", "UserSeen", "UserProfileUpdated"]


async def test_a_second_lost_race_in_a_row_surfaces(store):
    susan = await register(store)
    store.before_next_appends += [someone_sees(susan, NOW), someone_sees(susan, NOW + timedelta(minutes=2))]
    with pytest.raises(ConcurrencyError):
        await edit(store, susan, domain.ProfileChanges(about_me="hi"))
    assert not any(isinstance(e, UserProfileUpdated) for e in store.streams[f"user-{susan}"])


async def test_being_seen_is_recorded_at_most_once_a_minute(store):
    susan = await register(store)  # registering is the first sighting
    assert await handlers.record_seen(store, susan, NOW + timedelta(seconds=59)) == []
    assert [e.type for e in await handlers.record_seen(store, susan, NOW + timedelta(seconds=60))] == ["UserSeen"]
    assert await handlers.record_seen(store, susan, NOW + timedelta(seconds=90)) == []
    assert len(await handlers.record_seen(store, susan, NOW + timedelta(seconds=121))) == 1


async def test_an_unknown_user_is_refused(store):
    with pytest.raises(handlers.UnknownUser):
        await handlers.record_seen(store, 42, NOW)


async def test_logging_in_starts_a_session_and_a_refresh_rotates_its_token(store):
    susan = await register(store)
    assert await handlers.log_in(store, "susan", "wrong password", POLICY, NOW) is None
    pair = await handlers.log_in(store, "Susan", PASSWORD, POLICY, NOW)
    session_id = jwt.decode(pair.token, POLICY.secret, algorithms=["HS256"])["sid"]
    assert types(store, f"session-{session_id}") == ["SessionStarted"]
    again = await handlers.refresh(store, pair.refresh_token, POLICY, NOW + timedelta(minutes=1))
    rotated = store.streams[f"session-{session_id}"][-1]
    assert (rotated.type, rotated.stream_version, rotated.payload["generation"]) == ("RefreshTokenRotated", 2, 2)
    assert again.refresh_token != pair.refresh_token
    assert await store.live_session_ids(susan, NOW) == [session_id]


async def test_a_reused_refresh_token_revokes_every_session_of_the_user(store):
    susan = await register(store)
    first = await handlers.log_in(store, "susan", PASSWORD, POLICY, NOW)
    other = await handlers.log_in(store, "susan", PASSWORD, POLICY, NOW)
    await handlers.refresh(store, first.refresh_token, POLICY, NOW)
    with pytest.raises(domain.RefreshTokenReused):
        await handlers.refresh(store, first.refresh_token, POLICY, NOW)
    assert await store.live_session_ids(susan, NOW) == []
    revoked = [s[-1] for name, s in store.streams.items() if name.startswith("session-")]
    assert {(e.type, e.payload["reason"]) for e in revoked} == {("SessionRevoked", "refresh token reuse")}
    assert other is not None


async def test_only_the_owner_may_end_a_session(store):
    await register(store, "susan")
    john = await register(store, "john")
    pair = await handlers.log_in(store, "susan", PASSWORD, POLICY, NOW)
    session_id = jwt.decode(pair.token, POLICY.secret, algorithms=["HS256"])["sid"]
    with pytest.raises(handlers.Forbidden):
        await handlers.revoke_session(store, session_id, "logout", POLICY, NOW, owner=john)
    await handlers.revoke_session(store, session_id, "logout", POLICY, NOW)
    await handlers.revoke_session(store, session_id, "logout", POLICY, NOW)  # already ended: nothing more
    ended = store.streams[f"session-{session_id}"]
    assert [e.type for e in ended] == ["SessionStarted", "SessionRevoked"]
    assert ended[-1].payload["tokens_expire_at"] == "2026-11-24T12:15:00Z"


async def test_changing_the_password_ends_every_other_session(store):
    susan = await register(store)
    kept = await handlers.log_in(store, "susan", PASSWORD, POLICY, NOW)
    await handlers.log_in(store, "susan", PASSWORD, POLICY, NOW)
    keep = jwt.decode(kept.token, POLICY.secret, algorithms=["HS256"])["sid"]
    with pytest.raises(domain.WrongPassword):
        await handlers.change_password(store, susan, "not it", "brand new one", keep, POLICY, NOW)
    await handlers.change_password(store, susan, PASSWORD, "brand new one", keep, POLICY, NOW)
    assert types(store, f"user-{susan}") == ["UserRegistered", "PasswordSet", "PasswordSet"]
    assert await store.live_session_ids(susan, NOW) == [keep]


async def test_a_reset_link_is_mailed_once_a_minute_and_works_once(store):
    susan, now = await register(store), datetime.now(UTC)  # the link's signature expires on real time
    await resets.request(store, "SUSAN@example.com ", POLICY.secret, now)
    await resets.request(store, "susan@example.com", POLICY.secret, now + timedelta(seconds=30))
    await resets.request(store, "nobody@example.com", POLICY.secret, now)
    requested = [e for e in store.streams[f"user-{susan}"] if e.type == "PasswordResetRequested"]
    assert len(requested) == 1 and requested[0].payload["user_id"] == susan
    token = requested[0].payload["token"]
    await resets.reset(store, token, "a new password", POLICY, now)
    with pytest.raises(domain.InvalidResetToken):
        await resets.reset(store, token, "yet another one", POLICY, now)
    assert types(store, f"user-{susan}")[-2:] == ["PasswordResetRequested", "PasswordSet"]


async def test_a_new_email_is_only_asked_for_and_the_newest_link_applies_it(store):
    susan = await register(store)
    with pytest.raises(pending_email.PasswordRequired):
        await edit(store, susan, domain.ProfileChanges(email="new@example.com"))
    user, appended, pending = await edit(store, susan, domain.ProfileChanges(email="new@example.com"), PASSWORD)
    assert (user.email, pending) == ("susan@example.com", "new@example.com")
    assert [e.type for e in appended] == ["UserProfileUpdated", "EmailChangeRequested"]
    confirmed = await email_changes.confirm(store, appended[-1].payload["token"], POLICY.secret, NOW)
    assert [e.type for e in confirmed] == ["UserProfileUpdated", "EmailChangeConfirmed"]
    assert (await handlers.load_user(store, susan)).email == "new@example.com"
    assert ("email", "new@example.com") in store.reservations and (
        "email",
        "susan@example.com",
    ) not in store.reservations
