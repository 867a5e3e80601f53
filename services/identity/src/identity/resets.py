"""Password resets: a signed, single-use link by mail (the notifier sends it), and the new password."""

from __future__ import annotations

import secrets
from datetime import datetime

import jwt

from identity import domain
from identity.adapters import passwords
from identity.handlers import IdentityStore, TokenPolicy, UnknownUser, load_user, revoke_all_sessions, save_user
from microblog_shared.write.handling import retrying
from microblog_shared.write.port import Reservation, ReservationTaken


async def request(store: IdentityStore, email: str, secret: str, now: datetime, key: str | None = None) -> None:
    """Mail a reset link if an account has this address; the caller learns nothing either way.

    With an Idempotency-Key (scoped by the key and the address), a retry mails nothing: the key is
    reserved for the user in the transaction that appends the mail's event.
    """
    claim = Reservation("reset-key", f"{email.strip().lower()} {key}") if key is not None else None
    if claim is not None and await store.owner_of(claim.kind, claim.value) is not None:
        return
    user_id = await store.user_with_email(email)
    if user_id is None:
        return

    async def attempt() -> None:
        user = await load_user(store, user_id)
        token = jwt.encode(domain.reset_claims(user, now, secrets.token_urlsafe(12)), secret, algorithm="HS256")
        events = domain.request_reset(user, token, now, await store.last_reset_request(user_id))
        await save_user(store, user, events, claims=[claim] if claim is not None else [])

    try:
        await retrying(store, attempt)
    except ReservationTaken:  # a request with the same key mailed first
        pass


async def reset(store: IdentityStore, token: str, new_password: str, policy: TokenPolicy, now: datetime) -> None:
    """Set the password a valid reset token names; every session of the user ends."""
    try:
        claims = jwt.decode(token, policy.secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}, leeway=0)
        user_id = (await load_user(store, int(claims["sub"]))).user_id
    except (jwt.PyJWTError, ValueError, UnknownUser):
        raise domain.InvalidResetToken("the reset link is invalid, used or expired") from None

    async def attempt() -> None:
        user = await load_user(store, user_id)
        domain.check_reset(claims, user, new_password)
        await save_user(store, user, domain.set_password(user, await passwords.hash_password(new_password)))

    await retrying(store, attempt)
    await revoke_all_sessions(store, user_id, "password reset", policy, now)
