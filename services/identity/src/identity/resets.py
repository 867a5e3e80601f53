"""Password resets: a signed, single-use link by mail (the notifier sends it), and the new password."""

from __future__ import annotations

import secrets
from datetime import datetime

import jwt
from sqlalchemy import text

from identity import domain
from identity.adapters import passwords, users
from identity.handlers import TokenPolicy, UnknownUser, load_user, retry_once_on_conflict, revoke_all_sessions
from microblog_shared.write.eventstore import EventStore


async def request(store: EventStore, email: str, secret: str, now: datetime) -> None:
    """Mail a reset link if an account has this address; the caller learns nothing either way."""
    user_id = await _user_with_email(store, email)
    if user_id is None:
        return

    async def attempt() -> None:
        user = await load_user(store, user_id)
        token = jwt.encode(domain.reset_claims(user, now, secrets.token_urlsafe(12)), secret, algorithm="HS256")
        events = domain.request_reset(user, token, now, await _last_request(store, user_id))
        if events:
            await store.append(domain.stream_id(user_id), user.version, events,
                               update_state=users.save(domain.fold_user(events, user)))

    await retry_once_on_conflict(attempt)


async def reset(store: EventStore, token: str, new_password: str, policy: TokenPolicy, now: datetime) -> None:
    """Set the password a valid reset token names; every session of the user ends."""
    try:
        claims = jwt.decode(token, policy.secret, algorithms=["HS256"], options={"require": ["exp", "sub"]},
                            leeway=0)
        user = await load_user(store, int(claims["sub"]))
    except (jwt.PyJWTError, ValueError, UnknownUser):
        raise domain.InvalidResetToken("the reset link is invalid, used or expired") from None

    async def attempt() -> None:
        current = await load_user(store, user.user_id)
        domain.check_reset(claims, current, new_password)
        events = domain.set_password(current, await passwords.hash_password(new_password))
        await store.append(domain.stream_id(current.user_id), current.version, events,
                           update_state=users.save(domain.fold_user(events, current)))

    await retry_once_on_conflict(attempt)
    await revoke_all_sessions(store, user.user_id, "password reset", policy, now)


async def _user_with_email(store: EventStore, email: str) -> int | None:
    if not domain.EMAIL.match(email.strip()):
        return None
    async with store.engine.connect() as conn:
        return await conn.scalar(text("SELECT id FROM users WHERE lower(email) = lower(:e)"), {"e": email.strip()})


async def _last_request(store: EventStore, user_id: int) -> datetime | None:
    """When the newest reset of the account was asked for (on the clock that asked)."""
    async with store.engine.connect() as conn:
        expires = await conn.scalar(
            text("""SELECT max(CAST(payload->>'expires_at' AS timestamptz)) FROM events
                    WHERE stream_id = :s AND type = 'PasswordResetRequested'"""),
            {"s": domain.stream_id(user_id)},
        )
    return expires - domain.RESET_LIFETIME if expires else None
