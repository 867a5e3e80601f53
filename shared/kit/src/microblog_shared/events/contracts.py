"""Event contracts: one small pydantic model per fact, named in the past tense.

A contract never changes in place: a new shape is a new `schema_version` with an upcaster
from the previous one (see `registry.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str]  # the name on the wire: the class's own unless it names another (an old version's)
    schema_version: ClassVar[int] = 1
    # The bus topic it is published on; None keeps the event inside its service (never relayed).
    topic: ClassVar[str | None]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "type_name" not in vars(cls):
            cls.type_name = cls.__name__


# --- identity ------------------------------------------------------------------------


class UserRegistered(Event):
    topic = "identity.users"

    user_id: int
    username: str
    email: str
    about_me: str = ""
    registered_at: datetime


class UserProfileUpdated(Event):
    """The profile's new values (all of them, changed or not)."""

    topic = "identity.users"

    user_id: int
    username: str
    email: str
    about_me: str
    updated_at: datetime


class UserSeen(Event):
    """The user was active (recorded at most once a minute per user)."""

    topic = "identity.users"

    user_id: int
    last_seen: datetime


class PasswordSet(Event):
    """Private to identity: the hash must never leave the service."""

    topic = None

    user_id: int
    password_hash: str


class PasswordResetRequested(Event):
    """A person asked to reset their password: the notifier mails them the link.

    It carries the signed reset token (valid 10 minutes, and void as soon as the password
    changes), so it travels on a topic of its own that only the notifier reads.
    """

    topic = "identity.password-resets"

    user_id: int
    username: str
    email: str
    token: str
    expires_at: datetime


class EmailChangeRequested(Event):
    """A person asked to move their account to `new_email` (their password checked): nothing changes yet.

    The notifier mails `new_email` the signed confirmation link and `old_email` a notice. The token
    confirms only while this request is the user's newest pending one (see identity's ADR 8), so,
    like a reset, it travels on a topic of its own that only the notifier reads.
    """

    topic = "identity.email-changes"

    user_id: int
    username: str
    old_email: str
    new_email: str
    token: str
    expires_at: datetime


class SessionRevoked(Event):
    """Every access token of the session is dead; gateways drop them until `tokens_expire_at`."""

    topic = "identity.sessions"

    session_id: str
    user_id: int
    reason: str
    revoked_at: datetime
    tokens_expire_at: datetime


# --- social graph ---------------------------------------------------------------------


class UserFollowed(Event):
    topic = "social.follows"

    follower_id: int
    followee_id: int
    followed_at: datetime


class UserUnfollowed(Event):
    topic = "social.follows"

    follower_id: int
    followee_id: int
    unfollowed_at: datetime


# --- posts ----------------------------------------------------------------------------


class PostCreated(Event):
    """v2 adds `language` (ISO 639-1, "" when unknown); v1 payloads are upcast with ""."""

    schema_version = 2
    topic = "posts.posts"

    post_id: int
    author_id: int
    body: str
    language: str
    created_at: datetime


class PostEdited(Event):
    topic = "posts.posts"

    post_id: int
    author_id: int
    body: str
    language: str
    edited_at: datetime


class PostDeleted(Event):
    topic = "posts.posts"

    post_id: int
    author_id: int
    deleted_at: datetime


# --- messaging ------------------------------------------------------------------------


class MessageSent(Event):
    """A private message, on the recipient's inbox stream (only the two parties may read it)."""

    topic = "messaging.messages"

    message_id: int
    sender_id: int
    recipient_id: int
    body: str
    sent_at: datetime


class MessagesRead(Event):
    """The user read their inbox: every message up to `up_to_message_id` is read."""

    topic = "messaging.messages"

    user_id: int
    read_at: datetime
    up_to_message_id: int


# --- posts: exports (a background task) ---------------------------------------------------


class ExportRequested(Event):
    """A person asked for a JSON file of their own posts: a background task on its own stream."""

    topic = "posts.exports"

    task_id: str
    user_id: int
    name: str  # "export_posts"
    description: str
    total: int  # how many posts the author had when asking
    requested_at: datetime


class ExportProgressed(Event):
    """A chunk of the export is written: `exported` of `total` posts, `progress` in percent."""

    topic = "posts.exports"

    task_id: str
    user_id: int
    exported: int
    total: int
    progress: int
    after_post_id: int  # where the next chunk starts: a restarted exporter resumes here
    at: datetime


class ExportCompleted(Event):
    """The file is complete (posts serves it to the notifier, which mails it to the author)."""

    topic = "posts.exports"

    task_id: str
    user_id: int
    post_count: int
    completed_at: datetime
