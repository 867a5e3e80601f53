"""Event contracts: one small pydantic model per fact, named in the past tense.

A contract never changes in place: a new shape is a new `schema_version` with an upcaster
from the previous one (see `registry.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # The bus topic it is published on; None keeps the event inside its service (never relayed).
    topic: ClassVar[str | None]


class UserRegistered(Event):
    type_name = "UserRegistered"
    topic = "identity.users"

    user_id: int
    username: str
    email: str
    about_me: str = ""
    registered_at: datetime


class PasswordSet(Event):
    """Private to identity: the hash must never leave the service."""

    type_name = "PasswordSet"
    topic = None

    user_id: int
    password_hash: str


class PostCreated(Event):
    type_name = "PostCreated"
    topic = "posts.posts"

    post_id: int
    author_id: int
    body: str
    created_at: datetime
