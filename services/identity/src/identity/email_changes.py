"""Profile edits, where a new email address waits for the signed link mailed to it (the notifier sends it)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime

import jwt

from identity import domain, pending_email
from identity.adapters import passwords
from identity.handlers import TAKEN, IdentityStore, UnknownUser, load_user, save_user
from microblog_shared.events import Envelope
from microblog_shared.write.handling import retrying


async def edit_profile(
    store: IdentityStore,
    user_id: int,
    changes: domain.ProfileChanges,
    current_password: str | None,
    secret: str,
    now: datetime,
) -> tuple[domain.User, list[Envelope], str | None]:
    """The edited user, its appended events and the address now waiting for confirmation (None if none).

    Username and about me change at once; a new email needs `current_password` and is only asked for.
    """

    async def attempt() -> tuple[domain.User, list[Envelope], str | None]:
        user = await load_user(store, user_id)
        new_email = pending_email.new_address(user, changes.email)
        events: list = domain.update_profile(user, replace(changes, email=None), now)
        if new_email is not None:
            matches = current_password is not None and await passwords.verify_password(
                user.password_hash, current_password
            )
            pending_email.check_password(current_password is not None, matches)
            if await store.user_with_email(new_email) not in (None, user_id):
                raise domain.InvalidProfile(TAKEN["email"])  # early; the confirmation checks again
            nonce = secrets.token_urlsafe(12)
            token = jwt.encode(pending_email.claims(user, new_email, now, nonce), secret, algorithm="HS256")
            events += pending_email.request_change(user, new_email, token, now)
        appended = await save_user(store, user, events)
        return domain.fold_user(events, user) or user, appended, new_email

    return await retrying(store, attempt)


async def confirm(store: IdentityStore, token: str, secret: str, now: datetime) -> list[Envelope]:
    """Apply the email change a valid, newest, unexpired link names; the address must still be free."""
    try:  # expiry is checked on our clock, in pending_email.confirm
        verified = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"], "verify_exp": False}
        )
        user_id = (await load_user(store, int(verified["sub"]))).user_id
    except (jwt.PyJWTError, ValueError, UnknownUser):
        raise pending_email.InvalidEmailChangeToken(pending_email.INVALID_LINK) from None

    async def attempt() -> list[Envelope]:
        user = await load_user(store, user_id)
        return await save_user(store, user, pending_email.confirm(user, verified, token, now))

    return await retrying(store, attempt)
