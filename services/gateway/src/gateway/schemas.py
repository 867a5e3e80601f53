"""The public API's shapes: the OpenAPI document shows them and FastAPI checks answers against them.

A route relaying a service's answer returns `checked(...)`, the answer's data, so that its
`response_model` applies (see `checked` for the routes that can't yet).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import Path, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.openapi import Documented, at_least_one_of, not_null, trimmed, trimmed_text
from microblog_shared.http.text import Text

UserId = Annotated[int, Path(ge=1, le=2**62, description="a user's id")]
PostId = Annotated[int, Path(ge=1, le=2**62, description="a post's id")]
TaskId = Annotated[uuid.UUID, Path(description="a background task's id")]

# The rules identity, posts and messaging check (after trimming the text), with their own messages.
Username = Annotated[
    Text,
    Documented(
        pattern=trimmed(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$"),
        description="1 to 64 letters, digits or '_', with '.' or '-' only between them",
    ),
]
Email = Annotated[
    Text,
    Documented(
        pattern=trimmed(
            r"^[^@\s\u0000-\u001f\u007f-\u009f]{1,64}@[^@\s\u0000-\u001f\u007f-\u009f]+\.[^@\s\u0000-\u001f\u007f-\u009f]{2,}$"
        ),
        maxLength=120,
    ),
]
Password = Annotated[str, Documented(minLength=8, maxLength=256)]
# A post or a message: 1 to 140 characters once trimmed (the gateway takes up to 1,400 before trimming).
ShortText = Annotated[Text, Documented(pattern=trimmed_text(140), description="1 to 140 characters once trimmed")]


class Error(BaseModel):
    error: str = Field(examples=["Bad Request"])
    message: str | None = Field(default=None, examples=["please use a different username"])


class NewUser(BaseModel):
    # Optional here so that identity answers a missing one with the seed's message; documented as required.
    model_config = ConfigDict(json_schema_extra=not_null("username", "email", "password"))
    username: Username | None = Field(default=None, examples=["susan"])
    email: Email | None = Field(default=None, examples=["susan@example.com"])
    password: Password | None = Field(default=None, examples=["a long password"])
    about_me: Text | None = Field(default=None, max_length=140)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=at_least_one_of("username", "email", "about_me"))
    username: Username | None = None
    email: Email | None = Field(
        default=None, description="a new address waits for the link mailed to it (the answer is then 202)"
    )
    about_me: Text | None = Field(default=None, max_length=140)
    current_password: str | None = Field(default=None, max_length=256, description="required to change the email")


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: Annotated[str, Documented(minLength=8)] = Field(max_length=256)


class Links(BaseModel):
    model_config = ConfigDict(extra="allow")
    self: str


class User(BaseModel):
    id: int
    username: str
    last_seen: str | None = Field(examples=["2026-11-24T12:00:00Z"])
    about_me: str
    post_count: int
    follower_count: int
    followed_count: int
    email: str | None = Field(default=None, description="only when users read themselves")
    is_following: bool | None = Field(default=None, description="whether the caller follows this user")
    pending_email: str | None = Field(
        default=None, description="in a 202 to an email change: the new address, applied once its link is used"
    )
    links: Links = Field(alias="_links")


class UserAsWritten(BaseModel):
    """A registration or profile change answered as identity has it, when posts or social-graph can't give its counts."""

    id: int
    username: str
    email: str
    about_me: str
    last_seen: str | None = Field(examples=["2026-11-24T12:00:00Z"])
    registered_at: str | None = Field(examples=["2026-11-24T12:00:00Z"])
    pending_email: str | None = Field(
        default=None, description="in a 202 to an email change: the new address, applied once its link is used"
    )


class Tokens(BaseModel):
    token: str = Field(description="an access token (JWT), valid one hour")
    refresh_token: str = Field(description="valid 7 days; PUT /api/tokens rotates it")


class Refresh(BaseModel):
    refresh_token: Text = Field(min_length=1, max_length=200)


class NewPost(BaseModel):
    body: ShortText = Field(max_length=1400, examples=["Hello, world!"])


# A language tag as posts carry it ("en", "es", "zh-Hans"); empty source: let the translator detect it.
LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
LANGUAGE_OR_EMPTY = r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)?$"


class TranslationRequest(BaseModel):
    text: Text = Field(min_length=1, max_length=1400, examples=["Hola, mundo"])
    source_language: str = Field(default="", pattern=LANGUAGE_OR_EMPTY, max_length=35, examples=["es"])
    dest_language: str = Field(pattern=LANGUAGE, max_length=35, examples=["en"])


class ResetRequest(BaseModel):
    email: Text = Field(min_length=1, max_length=320, examples=["susan@example.com"])


class PasswordReset(BaseModel):
    token: Text = Field(min_length=1, max_length=1024)
    password: Annotated[str, Documented(minLength=8)] = Field(min_length=1, max_length=256)


class EmailConfirmation(BaseModel):
    token: Text = Field(min_length=1, max_length=1024, description="from the link mailed to the new address")


class Translated(BaseModel):
    text: str


class Author(BaseModel):
    id: int
    username: str | None = None
    links: Links | None = Field(default=None, alias="_links")


class Post(BaseModel):
    id: int
    body: str
    language: str = Field(description='ISO 639-1 code of the detected language, "" when unknown')
    timestamp: str = Field(examples=["2026-11-24T12:00:00Z"])
    edited_at: str | None = None
    author: Author
    links: Links | None = Field(default=None, alias="_links")


class Meta(BaseModel):
    page: int | None
    per_page: int
    total_pages: int
    total_items: int
    next_after: str | None = Field(default=None, description="keyset cursor of the next page (use as `after`)")


class CollectionLinks(BaseModel):
    self: str
    next: str | None
    prev: str | None


class PostCollection(BaseModel):
    items: list[Post]
    meta: Meta = Field(alias="_meta")
    links: CollectionLinks = Field(alias="_links")


class UserCollection(BaseModel):
    items: list[User]
    meta: Meta = Field(alias="_meta")
    links: CollectionLinks = Field(alias="_links")


class NewMessage(BaseModel):
    body: ShortText = Field(max_length=1400, examples=["See you tomorrow?"])


class Party(BaseModel):
    id: int
    username: str | None = None
    links: Links | None = Field(default=None, alias="_links")


class Message(BaseModel):
    id: int
    body: str
    timestamp: str = Field(examples=["2026-11-24T12:00:00Z"])
    read_at: str | None = Field(default=None, description="when the recipient read it, if they have")
    sender: Party
    recipient: Party


class MessageCollection(BaseModel):
    items: list[Message]
    meta: Meta = Field(alias="_meta")
    links: CollectionLinks = Field(alias="_links")


class Task(BaseModel):
    id: str = Field(examples=["0b5b6c0e-8d4e-4d3a-9a51-5e0b4f3f0a11"])
    name: str = Field(examples=["export_posts"])
    description: str = Field(examples=["Exporting posts..."])
    progress: int = Field(ge=0, le=100, description="percent done")
    complete: bool


ERRORS = {
    400: {"model": Error, "description": "Invalid input"},
    401: {"model": Error, "description": "Missing, bad, expired or revoked credentials"},
    403: {"model": Error, "description": "Not yours to change"},
    404: {"model": Error, "description": "Not found"},
    409: {"model": Error, "description": "Conflicting concurrent change"},
    422: {"model": Error, "description": "An Idempotency-Key sent again with another body, or after 24 hours"},
    429: {"model": Error, "description": "Too many attempts"},
    503: {"model": Error, "description": "A service behind the gateway is unavailable"},
}


def errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in (*codes, 503)}


class Notification(BaseModel):
    name: str = Field(examples=["unread_message_count"], description="unread_message_count or task_progress")
    data: int | dict = Field(examples=[3], description='the count, or {"task_id", "progress"} for task_progress')
    timestamp: float = Field(examples=[1795582374.25], description="unix seconds; pass the newest as `since`")


def checked(answer: Response, response: Response) -> Any:
    """A service's successful JSON answer as data: FastAPI checks it against the route's response model.

    The answer's status and headers move to `response`; errors and empty answers pass on as they are.
    Routes that return this declare `response_model_exclude_unset=True`, so that fields the service
    left out stay out (and those it sent as null stay null).

    The timeline's reads don't return this either: the timeline already speaks these shapes (it builds
    them with microblog_shared.http.views), so its bytes are relayed as they are (with their ETag)
    instead of being decoded, checked and encoded again, which cost more gateway CPU than the relay.

    Registration and profile changes don't return this: when posts or social-graph can't count for them
    they answer with identity's own view of the user (registered_at, no counts), which `User` doesn't describe.
    """
    if not 200 <= answer.status_code < 300 or answer.media_type != "application/json" or not answer.body:
        return answer
    response.status_code = answer.status_code
    for name, value in answer.headers.items():
        if name not in ("content-length", "content-type"):
            response.headers[name] = value
    return orjson.loads(answer.body)
