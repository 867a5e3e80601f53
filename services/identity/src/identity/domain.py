"""The User aggregate: decisions are pure functions from state and input to new events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from microblog_shared.events import PasswordSet, UserRegistered

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MAX_ABOUT_ME = 140
MIN_PASSWORD = 8


class InvalidRegistration(ValueError):
    pass


def stream_id(user_id: int) -> str:
    return f"user-{user_id}"


@dataclass(frozen=True)
class Registration:
    username: str
    email: str
    password: str
    about_me: str = ""


def register(user_id: int, request: Registration, password_hash: str, now: datetime) -> list:
    """A person signs up: the facts to record, or InvalidRegistration."""
    username, email = request.username.strip(), request.email.strip()
    if not USERNAME.match(username):
        raise InvalidRegistration("username must be 1 to 64 letters, digits, '.', '_' or '-'")
    if len(email) > 120 or not EMAIL.match(email):
        raise InvalidRegistration("email is not a valid address")
    if len(request.password) < MIN_PASSWORD:
        raise InvalidRegistration(f"password must have at least {MIN_PASSWORD} characters")
    if len(request.about_me) > MAX_ABOUT_ME:
        raise InvalidRegistration(f"about_me must have at most {MAX_ABOUT_ME} characters")
    return [
        UserRegistered(user_id=user_id, username=username, email=email, about_me=request.about_me, registered_at=now),
        PasswordSet(user_id=user_id, password_hash=password_hash),
    ]
