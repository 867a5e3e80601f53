"""Identity's use cases: load, decide, append. No HTTP here; `now` always comes from the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable, TypeVar
from uuid import uuid4

from identity import domain
from identity.adapters import passwords, sessions, users
from microblog_shared.http.auth import issue_access_token
from microblog_shared.events import Envelope
from microblog_shared.write.eventstore import ConcurrencyError, EventStore, Reservation, ReservationTaken

T = TypeVar("T")

TAKEN = {"username": "please use a different username", "email": "please use a different email address"}


class UnknownUser(LookupError):
    pass


class Forbidden(PermissionError):
    pass


@dataclass(frozen=True)
class TokenPolicy:
    """How access tokens are signed and how long they live."""

    secret: str
    access_minutes: int

    @property
    def access_lifetime(self) -> timedelta:
        return timedelta(minutes=self.access_minutes)


@dataclass(frozen=True)
class TokenPair:
    token: str
    refresh_token: str


async def retry_once_on_conflict(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` again (it reloads) if a concurrent writer moved the stream; a second conflict propagates."""
    try:
        return await attempt()
    except ConcurrencyError:
        return await attempt()


def _uniqueness_claims(before: domain.User | None, after: domain.User) -> tuple[list[Reservation], list[Reservation]]:
    """The (reserve, release) lists for the user's lower-cased username and email."""
    reserve, release = [], []
    for kind in ("username", "email"):
        new = getattr(after, kind).lower()
        old = getattr(before, kind).lower() if before else None
        if new != old:
            reserve.append(Reservation(kind, new))
            if old is not None:
                release.append(Reservation(kind, old))
    return reserve, release


async def register_user(store: EventStore, request: domain.Registration, now: datetime) -> list[Envelope]:
    """A new user with a unique (case-insensitive) username and email; InvalidRegistration otherwise."""
    password_hash = await passwords.hash_password(request.password)
    user_id = await store.next_id("user_ids")
    events = domain.register(user_id, request, password_hash, now)
    user = domain.fold_user(events)
    reserve, _ = _uniqueness_claims(None, user)
    try:
        return await store.append(domain.stream_id(user_id), 0, events, reserve=reserve, update_state=users.save(user))
    except ReservationTaken as taken:
        raise domain.InvalidRegistration(TAKEN[taken.kind]) from None


async def load_user(store: EventStore, user_id: int) -> domain.User:
    """The user now, or UnknownUser."""
    user = await users.load(store.engine, user_id)
    if user is None:
        raise UnknownUser(user_id)
    return user


async def update_profile(
    store: EventStore, user_id: int, changes: domain.ProfileChanges, now: datetime
) -> tuple[domain.User, list[Envelope]]:
    """The edited user and its appended event."""

    async def attempt() -> tuple[domain.User, list[Envelope]]:
        user = await load_user(store, user_id)
        events = domain.update_profile(user, changes, now)
        updated = domain.fold_user(events, user)
        reserve, release = _uniqueness_claims(user, updated)
        try:
            appended = await store.append(domain.stream_id(user_id), user.version, events, reserve=reserve,
                                          release=release, update_state=users.save(updated))
        except ReservationTaken as taken:
            raise domain.InvalidProfile(TAKEN[taken.kind]) from None
        return updated, appended

    return await retry_once_on_conflict(attempt)


async def change_password(store: EventStore, user_id: int, current: str, new: str, keep_session: str | None,
                          policy: TokenPolicy, now: datetime) -> None:
    """Set a new password after checking the current one; every other session of the user ends."""

    async def attempt() -> None:
        user = await load_user(store, user_id)
        domain.check_password_change(await passwords.verify_password(user.password_hash, current), new)
        events = domain.set_password(user, await passwords.hash_password(new))
        await store.append(domain.stream_id(user_id), user.version, events,
                           update_state=users.save(domain.fold_user(events, user)))

    await retry_once_on_conflict(attempt)
    await revoke_all_sessions(store, user_id, "password changed", policy, now, keep=keep_session)


async def record_seen(store: EventStore, user_id: int, now: datetime) -> list[Envelope]:
    """Note that the user was active; appends nothing if that was already noted within a minute."""

    async def attempt() -> list[Envelope]:
        user = await load_user(store, user_id)
        events = domain.see(user, now)
        if not events:
            return []
        return await store.append(domain.stream_id(user_id), user.version, events,
                                  update_state=users.save(domain.fold_user(events, user)))

    return await retry_once_on_conflict(attempt)


async def log_in(store: EventStore, username: str, password: str, policy: TokenPolicy,
                 now: datetime) -> TokenPair | None:
    """A new session and its first token pair for valid credentials, else None (same cost either way)."""
    user = await users.find_by_username(store.engine, username)
    if not await passwords.verify_password(user.password_hash if user else None, password):
        return None
    session_id = uuid4().hex
    refresh_token, refresh_hash = sessions.new_refresh_token()
    events = domain.start_session(session_id, user.user_id, refresh_hash, now)
    await store.append(domain.session_stream_id(session_id), 0, events,
                       update_state=sessions.save(domain.fold_session(events), events))
    return TokenPair(issue_access_token(user.user_id, session_id, policy.secret, policy.access_minutes), refresh_token)


async def refresh(store: EventStore, presented: str, policy: TokenPolicy, now: datetime) -> TokenPair:
    """Exchange a refresh token for a new pair in the same session; a reused token revokes every session."""
    issued = await sessions.find_refresh_token(store.engine, presented)
    session = await sessions.load(store.engine, issued.session_id) if issued else None
    if session is None:
        raise domain.RefreshRejected("refresh token is not valid")
    refresh_token, refresh_hash = sessions.new_refresh_token()
    try:
        events = domain.rotate_refresh_token(session, issued.generation, refresh_hash, now)
    except domain.RefreshTokenReused:
        await revoke_all_sessions(store, session.user_id, "refresh token reuse", policy, now)
        raise
    # No retry on conflict: a racing rotation made this token an old one, so it must not win too.
    await store.append(domain.session_stream_id(session.session_id), session.version, events,
                       update_state=sessions.save(domain.fold_session(events, session), events))
    access = issue_access_token(session.user_id, session.session_id, policy.secret, policy.access_minutes)
    return TokenPair(access, refresh_token)


async def revoke_session(store: EventStore, session_id: str, reason: str, policy: TokenPolicy,
                         now: datetime, owner: int | None = None) -> None:
    """End one session (nothing happens if it is unknown or already ended); Forbidden if not `owner`'s."""

    async def attempt() -> None:
        session = await sessions.load(store.engine, session_id)
        if session is None:
            return
        if owner is not None and session.user_id != owner:
            raise Forbidden("this session belongs to another user")
        events = domain.revoke(session, reason, now, policy.access_lifetime)
        if events:
            await store.append(domain.session_stream_id(session_id), session.version, events,
                               update_state=sessions.save(domain.fold_session(events, session), events))

    await retry_once_on_conflict(attempt)


async def revoke_all_sessions(store: EventStore, user_id: int, reason: str, policy: TokenPolicy, now: datetime,
                              keep: str | None = None) -> None:
    """End every live session of the user except `keep`."""
    for session_id in await sessions.live_session_ids(store.engine, user_id, now):
        if session_id != keep:
            await revoke_session(store, session_id, reason, policy, now)
