"""Identity's aggregates, User and Session: pure decisions from state and input to new events.

State changes only by folding events: one `evolve_user` / `evolve_session` case per event type.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import singledispatch

from identity.events import RefreshTokenRotated, SessionStarted
from microblog_shared.events import (
    Event,
    PasswordResetRequested,
    PasswordSet,
    SessionRevoked,
    UserProfileUpdated,
    UserRegistered,
    UserSeen,
)

# Any name an account may have, including ones registered before NEW_USERNAME (lookups accept these).
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# A name given now: letters, digits and '_', with '.' or '-' only inside, so it is never '.', '..' or
# anything a URL path would take apart ('/', '%', '?', '#'), and never blank or a control character.
NEW_USERNAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$")
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")  # uuid4().hex
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # newlines and tabs are fine in about_me
MAX_EMAIL = 120
MAX_ABOUT_ME = 140
MIN_PASSWORD = 8
MAX_PASSWORD = 256
SEEN_INTERVAL = timedelta(seconds=60)  # last_seen is written at most this often per user
REFRESH_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(minutes=10)
RESET_INTERVAL = timedelta(seconds=60)  # at most one reset mail per account this often
RESET_PURPOSE = "password-reset"


class InvalidRegistration(ValueError):
    pass


class InvalidProfile(ValueError):
    pass


class InvalidPassword(ValueError):
    pass


class WrongPassword(ValueError):
    pass


class InvalidResetToken(ValueError):
    pass


class RefreshRejected(Exception):
    """The refresh token can't be exchanged: unknown, expired, or its session is revoked."""


class RefreshTokenReused(RefreshRejected):
    """A rotated (older) refresh token came back: someone else holds a copy of it."""


def stream_id(user_id: int) -> str:
    return f"user-{user_id}"


def session_stream_id(session_id: str) -> str:
    return f"session-{session_id}"


# --- state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    email: str
    about_me: str
    registered_at: datetime
    password_hash: str = ""
    last_seen: datetime | None = None
    version: int = 0  # the stream version this state was folded up to
    # An email change waiting for its link (see pending_email.py): the address, and which link confirms it.
    pending_email: str | None = None
    pending_token_hash: str | None = None


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: int
    started_at: datetime
    refresh_expires_at: datetime
    generation: int = 1  # of the one refresh token that is valid now
    revoked_at: datetime | None = None
    tokens_expire_at: datetime | None = None
    version: int = 0

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.refresh_expires_at > now


@singledispatch
def evolve_user(event: Event, user: User | None) -> User:
    raise TypeError(f"{type(event).__name__} is not a User event")


@evolve_user.register
def _(event: UserRegistered, user: None) -> User:
    # As the seed: an account is seen when it is made (the event's registered_at is its first last_seen).
    at = event.registered_at
    return User(event.user_id, event.username, event.email, event.about_me, at, last_seen=at, version=1)


@evolve_user.register
def _(event: PasswordSet, user: User) -> User:
    return replace(user, password_hash=event.password_hash, version=user.version + 1)


@evolve_user.register
def _(event: PasswordResetRequested, user: User) -> User:
    return replace(user, version=user.version + 1)


@evolve_user.register
def _(event: UserProfileUpdated, user: User) -> User:
    return replace(user, username=event.username, email=event.email, about_me=event.about_me, version=user.version + 1)


@evolve_user.register
def _(event: UserSeen, user: User) -> User:
    return replace(user, last_seen=event.last_seen, version=user.version + 1)


@singledispatch
def evolve_session(event: Event, session: Session | None) -> Session:
    raise TypeError(f"{type(event).__name__} is not a Session event")


@evolve_session.register
def _(event: SessionStarted, session: None) -> Session:
    return Session(event.session_id, event.user_id, event.started_at, event.expires_at, version=1)


@evolve_session.register
def _(event: RefreshTokenRotated, session: Session) -> Session:
    return replace(
        session, generation=event.generation, refresh_expires_at=event.expires_at, version=session.version + 1
    )


@evolve_session.register
def _(event: SessionRevoked, session: Session) -> Session:
    return replace(
        session, revoked_at=event.revoked_at, tokens_expire_at=event.tokens_expire_at, version=session.version + 1
    )


def fold_user(events: Iterable[Event], user: User | None = None) -> User | None:
    """The user after `events`, starting from `user` (None: before registration)."""
    for event in events:
        user = evolve_user(event, user)
    return user


def fold_session(events: Iterable[Event], session: Session | None = None) -> Session | None:
    """The session after `events`, starting from `session` (None: before it started)."""
    for event in events:
        session = evolve_session(event, session)
    return session


# --- user decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    username: str
    email: str
    password: str
    about_me: str = ""


@dataclass(frozen=True)
class ProfileChanges:
    """Only the fields a person wants to change; None leaves a field as it is."""

    username: str | None = None
    email: str | None = None
    about_me: str | None = None


def _username(given: str) -> str:
    """A given name as it is checked and kept: NFKC-normalised (fullwidth 'ｓｕｓａｎ' is 'susan'), trimmed."""
    return unicodedata.normalize("NFKC", given).strip()


def username_key(username: str) -> str:
    """What makes two usernames the same one: NFKC, then case-folded (so look-alikes collide)."""
    return unicodedata.normalize("NFKC", username).casefold()


def _username_problem(username: str) -> str | None:
    if NEW_USERNAME.match(username):
        return None
    return "username must be 1 to 64 letters, digits or '_', with '.' or '-' only between them"


def _email_problem(email: str) -> str | None:
    return None if len(email) <= MAX_EMAIL and EMAIL.match(email) else "email is not a valid address"


def _about_me_problem(about_me: str) -> str | None:
    if len(about_me) > MAX_ABOUT_ME:
        return f"about_me must have at most {MAX_ABOUT_ME} characters"
    return "about_me must not contain control characters" if CONTROL.search(about_me) else None


def password_problem(password: str) -> str | None:
    """Why `password` can't be a password (None when it can)."""
    if len(password) < MIN_PASSWORD:
        return f"password must have at least {MIN_PASSWORD} characters"
    return f"password must have at most {MAX_PASSWORD} characters" if len(password) > MAX_PASSWORD else None


def register(user_id: int, request: Registration, password_hash: str, now: datetime) -> list:
    """A person signs up: the facts to record, or InvalidRegistration."""
    username, email = _username(request.username), request.email.strip()
    problem = (
        _username_problem(username)
        or _email_problem(email)
        or password_problem(request.password)
        or _about_me_problem(request.about_me)
    )
    if problem:
        raise InvalidRegistration(problem)
    return [
        UserRegistered(user_id=user_id, username=username, email=email, about_me=request.about_me, registered_at=now),
        PasswordSet(user_id=user_id, password_hash=password_hash),
    ]


def same_registration(first: UserRegistered, retry: Registration) -> bool:
    """Whether a registration sent again asks for what `first` recorded (the password is checked apart)."""
    return (
        username_key(_username(retry.username)) == username_key(first.username)
        and retry.email.strip().lower() == first.email.lower()
        and retry.about_me == first.about_me
    )


def update_profile(user: User, changes: ProfileChanges, now: datetime) -> list[UserProfileUpdated]:
    """A person edits their profile: one event with every current value.

    An edit that changes nothing is still recorded, so every accepted edit has a token to wait on.
    """
    username = user.username if changes.username is None else _username(changes.username)
    email = user.email if changes.email is None else changes.email.strip()
    about_me = user.about_me if changes.about_me is None else changes.about_me
    problem = (
        (username != user.username and _username_problem(username))  # an older odd name may stay
        or (changes.email is not None and _email_problem(email))
        or _about_me_problem(about_me)
    )
    if problem:
        raise InvalidProfile(problem)
    return [UserProfileUpdated(user_id=user.user_id, username=username, email=email, about_me=about_me, updated_at=now)]


def check_password_change(current_password_matches: bool, new_password: str) -> None:
    """Check a password change before the new password is hashed: WrongPassword or InvalidPassword."""
    if not current_password_matches:
        raise WrongPassword("current password is wrong")
    problem = password_problem(new_password)
    if problem:
        raise InvalidPassword(problem)


def set_password(user: User, password_hash: str) -> list[PasswordSet]:
    """The new password's hash, after check_password_change allowed it."""
    return [PasswordSet(user_id=user.user_id, password_hash=password_hash)]


# --- password resets ------------------------------------------------------------------


def password_fingerprint(password_hash: str | None) -> str:
    """Ties a reset token to the password it replaces: once that changes, the token is void (single use)."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:24]


def reset_claims(user: User, now: datetime, nonce: str) -> dict:
    """What a reset token says, to be signed: whose password, which one, until when."""
    return {
        "sub": str(user.user_id),
        "purpose": RESET_PURPOSE,
        "pwd": password_fingerprint(user.password_hash),
        "iat": int(now.timestamp()),
        "exp": int((now + RESET_LIFETIME).timestamp()),
        "jti": nonce,
    }


def request_reset(
    user: User, token: str, now: datetime, last_requested: datetime | None
) -> list[PasswordResetRequested]:
    """A reset mail for the user, unless one was asked for within RESET_INTERVAL."""
    if last_requested is not None and now - last_requested < RESET_INTERVAL:
        return []
    return [
        PasswordResetRequested(
            user_id=user.user_id, username=user.username, email=user.email, token=token, expires_at=now + RESET_LIFETIME
        )
    ]


def check_reset(claims: dict, user: User, new_password: str) -> None:
    """A verified token's claims against the user now: InvalidResetToken or InvalidPassword."""
    if claims.get("purpose") != RESET_PURPOSE or claims.get("pwd") != password_fingerprint(user.password_hash):
        raise InvalidResetToken("the reset link is invalid, used or expired")
    problem = password_problem(new_password)
    if problem:
        raise InvalidPassword(problem)


def see(user: User, now: datetime) -> list[UserSeen]:
    """The user was active now: recorded unless it was already recorded within SEEN_INTERVAL."""
    if user.last_seen is not None and now - user.last_seen < SEEN_INTERVAL:
        return []
    return [UserSeen(user_id=user.user_id, last_seen=now)]


# --- session decisions ----------------------------------------------------------------


def start_session(session_id: str, user_id: int, refresh_hash: str, now: datetime) -> list[SessionStarted]:
    """A login: a new session whose first refresh token is valid for REFRESH_LIFETIME."""
    return [
        SessionStarted(
            session_id=session_id,
            user_id=user_id,
            refresh_hash=refresh_hash,
            started_at=now,
            expires_at=now + REFRESH_LIFETIME,
        )
    ]


def rotate_refresh_token(
    session: Session, presented_generation: int, new_hash: str, now: datetime
) -> list[RefreshTokenRotated]:
    """Exchange the current refresh token for the next one; RefreshRejected or RefreshTokenReused."""
    if presented_generation < session.generation:
        raise RefreshTokenReused("refresh token was already used; every session of this user is revoked")
    if session.revoked_at is not None:
        raise RefreshRejected("the session of this refresh token is revoked")
    if session.refresh_expires_at <= now:
        raise RefreshRejected("refresh token has expired")
    return [
        RefreshTokenRotated(
            session_id=session.session_id,
            refresh_hash=new_hash,
            generation=session.generation + 1,
            expires_at=now + REFRESH_LIFETIME,
        )
    ]


def revoke(session: Session, reason: str, now: datetime, access_lifetime: timedelta) -> list[SessionRevoked]:
    """End a session: its access tokens die at once (gateways drop them until they expire anyway)."""
    if session.revoked_at is not None:
        return []
    return [
        SessionRevoked(
            session_id=session.session_id,
            user_id=session.user_id,
            reason=reason,
            revoked_at=now,
            tokens_expire_at=now + access_lifetime,
        )
    ]
