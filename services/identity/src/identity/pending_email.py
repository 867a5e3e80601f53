"""Email changes, decided: the current password, then a signed link to the new address; only the link applies it.

A stolen access token alone can't move an account to another mailbox (and then reset its
password there): the change needs the password, and the old address hears of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

from identity import domain
from identity.events import EmailChangeConfirmed
from microblog_shared.events import EmailChangeRequested, UserProfileUpdated

EMAIL_CHANGE_LIFETIME = timedelta(hours=24)
EMAIL_CHANGE_PURPOSE = "email-change"
INVALID_LINK = "the email confirmation link is invalid, used or expired"


class PasswordRequired(ValueError):
    pass


class InvalidEmailChangeToken(ValueError):
    pass


@domain.evolve_user.register
def _(event: EmailChangeRequested, user: domain.User) -> domain.User:
    return replace(
        user, pending_email=event.new_email, pending_token_hash=token_hash(event.token), version=user.version + 1
    )


@domain.evolve_user.register
def _(event: EmailChangeConfirmed, user: domain.User) -> domain.User:
    return replace(user, pending_email=None, pending_token_hash=None, version=user.version + 1)


def token_hash(token: str) -> str:
    """What the state keeps of a link's token: enough to know it is the newest one, useless to a reader."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_address(user: domain.User, given: str | None) -> str | None:
    """The address an edit asks to move to (trimmed), None when it keeps the current one; InvalidProfile if malformed."""
    if given is None or given.strip() == user.email:
        return None
    email = given.strip()
    if len(email) > domain.MAX_EMAIL or not domain.EMAIL.match(email):
        raise domain.InvalidProfile("email is not a valid address")
    return email


def check_password(current_password_given: bool, current_password_matches: bool) -> None:
    """An email change needs the account's password: PasswordRequired or WrongPassword."""
    if not current_password_given:
        raise PasswordRequired("current_password is required to change the email address")
    if not current_password_matches:
        raise domain.WrongPassword("current password is wrong")


def claims(user: domain.User, new_email: str, now: datetime, nonce: str) -> dict:
    """What a confirmation token says, to be signed: whose account, which address, until when."""
    return {
        "sub": str(user.user_id),
        "purpose": EMAIL_CHANGE_PURPOSE,
        "email": new_email,
        "iat": int(now.timestamp()),
        "exp": int((now + EMAIL_CHANGE_LIFETIME).timestamp()),
        "jti": nonce,
    }


def request_change(user: domain.User, new_email: str, token: str, now: datetime) -> list[EmailChangeRequested]:
    """Ask the new address to confirm; an older pending link stops working."""
    return [
        EmailChangeRequested(
            user_id=user.user_id,
            username=user.username,
            old_email=user.email,
            new_email=new_email,
            token=token,
            expires_at=now + EMAIL_CHANGE_LIFETIME,
        )
    ]


def confirm(
    user: domain.User, verified: dict, token: str, now: datetime
) -> list[UserProfileUpdated | EmailChangeConfirmed]:
    """A verified token's claims against the user now: the change applied, or InvalidEmailChangeToken."""
    email = user.pending_email
    if (
        email is None
        or verified.get("purpose") != EMAIL_CHANGE_PURPOSE
        or user.pending_token_hash != token_hash(token)
        or verified.get("email") != email
        or not isinstance(verified.get("exp"), int)
        or verified["exp"] <= now.timestamp()
    ):
        raise InvalidEmailChangeToken(INVALID_LINK)
    return [
        UserProfileUpdated(
            user_id=user.user_id, username=user.username, email=email, about_me=user.about_me, updated_at=now
        ),
        EmailChangeConfirmed(user_id=user.user_id, email=email, confirmed_at=now),
    ]
