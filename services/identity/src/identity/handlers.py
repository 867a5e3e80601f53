"""Identity's use cases: load, decide, append. No HTTP here; `now` always comes from the caller.

Conflicts follow the kit's one policy (`microblog_shared.write.handling`): decided again once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import uuid4

from identity import domain
from identity.adapters import passwords, sessions, users
from microblog_shared.events import Envelope, Event, PasswordSet, UserRegistered, registry
from microblog_shared.http.auth import issue_access_token
from microblog_shared.write import idempotency
from microblog_shared.write.handling import retrying
from microblog_shared.write.port import EventStore, Reservation, ReservationTaken

TAKEN = {"username": "please use a different username", "email": "please use a different email address"}


class UnknownUser(LookupError):
    pass


class Forbidden(PermissionError):
    pass


class ReuseEndedSessions(domain.RefreshTokenReused):
    """A reused refresh token's refusal, naming the sessions it ended and when their access tokens expire."""

    def __init__(self, message: str, session_ids: list[str], tokens_expire_at: datetime) -> None:
        super().__init__(message)
        self.session_ids, self.tokens_expire_at = session_ids, tokens_expire_at


class IdentityStore(EventStore, Protocol):
    """The event store port, plus what identity's state tables answer (adapters.store in production)."""

    async def user(self, user_id: int) -> domain.User | None: ...

    async def user_named(self, username: str) -> domain.User | None: ...

    async def user_with_email(self, email: str) -> int | None: ...

    async def last_reset_request(self, user_id: int) -> datetime | None: ...

    async def session(self, session_id: str) -> domain.Session | None: ...

    async def refresh_token(self, token: str) -> sessions.IssuedRefreshToken | None: ...

    async def live_session_ids(self, user_id: int, now: datetime) -> list[str]: ...


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


# --- users ----------------------------------------------------------------------------


async def register_user(
    store: IdentityStore, request: domain.Registration, now: datetime, key: str | None = None
) -> list[Envelope]:
    """A new user with a unique (case-insensitive) username and email; InvalidRegistration otherwise.

    With an Idempotency-Key (scoped by the key and the username), a retry answers the user the key
    registered (KeyReused if sent with another body): the key is reserved in the append's transaction.
    """
    claim = Reservation("registration-key", f"{domain.username_key(request.username.strip())} {key}") if key else None
    if claim is not None and (earlier := await _registered_with(store, claim, request, now)):
        return earlier
    password_hash = await passwords.hash_password(request.password)
    events = domain.register(await store.next_id("user_ids"), request, password_hash, now)
    try:
        return await save_user(store, None, events, refusal=domain.InvalidRegistration, claims=[claim] if claim else [])
    except ReservationTaken:  # a request with the same key registered first
        assert claim is not None
        earlier = await _registered_with(store, claim, request, now)
        assert earlier  # a reservation is never released
        return earlier


async def _registered_with(
    store: EventStore, claim: Reservation, request: domain.Registration, now: datetime
) -> list[Envelope] | None:
    """The first events of the user a registration key made (KeyReused if the retry differs or is too late)."""
    owner = await store.owner_of(claim.kind, claim.value)
    if owner is None:
        return None
    first = await store.read_stream(owner)
    registered, password = registry.decode(first[0]), registry.decode(first[1])
    assert isinstance(registered, UserRegistered) and isinstance(password, PasswordSet)
    same = domain.same_registration(registered, request) and await passwords.verify_password(
        password.password_hash, request.password
    )
    idempotency.check_retry(same, registered.registered_at, now)
    return first[:2]


async def load_user(store: IdentityStore, user_id: int) -> domain.User:
    """The user now, or UnknownUser."""
    user = await store.user(user_id)
    if user is None:
        raise UnknownUser(user_id)
    return user


async def change_password(
    store: IdentityStore,
    user_id: int,
    current: str,
    new: str,
    keep_session: str | None,
    policy: TokenPolicy,
    now: datetime,
) -> None:
    """Set a new password after checking the current one; every other session of the user ends."""

    async def attempt() -> None:
        user = await load_user(store, user_id)
        domain.check_password_change(await passwords.verify_password(user.password_hash, current), new)
        await save_user(store, user, domain.set_password(user, await passwords.hash_password(new)))

    await retrying(store, attempt)
    await revoke_all_sessions(store, user_id, "password changed", policy, now, keep=keep_session)


async def record_seen(store: IdentityStore, user_id: int, now: datetime) -> list[Envelope]:
    """Note that the user was active; appends nothing if that was already noted within a minute."""

    async def attempt() -> list[Envelope]:
        user = await load_user(store, user_id)
        return await save_user(store, user, domain.see(user, now))

    return await retrying(store, attempt)


async def save_user(
    store: EventStore,
    user: domain.User | None,
    events: Sequence[Event],
    refusal: type[ValueError] = domain.InvalidProfile,
    claims: Sequence[Reservation] = (),
) -> list[Envelope]:
    """Append the user's new events at its version, with its state row and its unique names.

    A username or email another user holds is refused with `refusal`; no events append nothing.
    `claims` (Idempotency-Keys) are reserved first: one already held raises ReservationTaken.
    """
    updated = domain.fold_user(events, user)
    if updated is None or not events:
        return []
    reserve, release = _uniqueness_claims(user, updated)
    reserve = [*claims, *reserve]
    try:
        appended = await store.append(
            domain.stream_id(updated.user_id),
            user.version if user else 0,
            events,
            reserve=reserve,
            release=release,
            update_state=users.save(updated),
        )
    except ReservationTaken as taken:
        if taken.kind not in TAKEN:
            raise
        raise refusal(TAKEN[taken.kind]) from None
    return appended


def _uniqueness_claims(before: domain.User | None, after: domain.User) -> tuple[list[Reservation], list[Reservation]]:
    """The (reserve, release) lists for the user's username key (NFKC, case-folded) and lower-cased email."""
    reserve, release = [], []
    for kind, key in (("username", domain.username_key), ("email", str.lower)):
        new = key(getattr(after, kind))
        old = key(getattr(before, kind)) if before else None
        if new != old:
            reserve.append(Reservation(kind, new))
            if old is not None:
                release.append(Reservation(kind, old))
    return reserve, release


# --- sessions -------------------------------------------------------------------------


async def log_in(
    store: IdentityStore, username: str, password: str, policy: TokenPolicy, now: datetime
) -> TokenPair | None:
    """A new session and its first token pair for valid credentials, else None (same cost either way)."""
    user = await store.user_named(username)
    if not await passwords.verify_password(user.password_hash if user else None, password) or user is None:
        return None
    session_id = uuid4().hex
    refresh_token, refresh_hash = sessions.new_refresh_token()
    await _save_session(store, None, domain.start_session(session_id, user.user_id, refresh_hash, now))
    return TokenPair(issue_access_token(user.user_id, session_id, policy.secret, policy.access_minutes), refresh_token)


async def refresh(store: IdentityStore, presented: str, policy: TokenPolicy, now: datetime) -> TokenPair:
    """Exchange a refresh token for a new pair in the same session; a reused token revokes every session."""
    issued = await store.refresh_token(presented)
    session = await store.session(issued.session_id) if issued else None
    if issued is None or session is None:
        raise domain.RefreshRejected("refresh token is not valid")
    refresh_token, refresh_hash = sessions.new_refresh_token()
    try:
        events = domain.rotate_refresh_token(session, issued.generation, refresh_hash, now)
    except domain.RefreshTokenReused as reused:
        ended = await revoke_all_sessions(store, session.user_id, "refresh token reuse", policy, now)
        family = list(dict.fromkeys([session.session_id, *ended]))  # its own, even if it had ended before
        raise ReuseEndedSessions(str(reused), family, now + policy.access_lifetime) from None
    # Never decided again: a racing rotation made this token an old one, so it must not win too.
    await _save_session(store, session, events)
    access = issue_access_token(session.user_id, session.session_id, policy.secret, policy.access_minutes)
    return TokenPair(access, refresh_token)


async def revoke_session(
    store: IdentityStore, session_id: str, reason: str, policy: TokenPolicy, now: datetime, owner: int | None = None
) -> None:
    """End one session (nothing happens if it is unknown or already ended); Forbidden if not `owner`'s."""

    async def attempt() -> None:
        session = await store.session(session_id)
        if session is None:
            return
        if owner is not None and session.user_id != owner:
            raise Forbidden("this session belongs to another user")
        await _save_session(store, session, domain.revoke(session, reason, now, policy.access_lifetime))

    await retrying(store, attempt)


async def revoke_all_sessions(
    store: IdentityStore, user_id: int, reason: str, policy: TokenPolicy, now: datetime, keep: str | None = None
) -> list[str]:
    """End every live session of the user except `keep`; the ids of those it ended."""
    ended = [session_id for session_id in await store.live_session_ids(user_id, now) if session_id != keep]
    for session_id in ended:
        await revoke_session(store, session_id, reason, policy, now)
    return ended


async def _save_session(store: EventStore, session: domain.Session | None, events: Sequence[Event]) -> None:
    """Append the session's new events at its version, with its state row (and any refresh token issued)."""
    updated = domain.fold_session(events, session)
    if updated is None or not events:
        return
    await store.append(
        domain.session_stream_id(updated.session_id),
        session.version if session else 0,
        events,
        update_state=sessions.save(updated, events),
    )
