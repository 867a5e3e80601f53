"""The public API's shapes, as the OpenAPI document shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Error(BaseModel):
    error: str = Field(examples=["Bad Request"])
    message: str | None = Field(default=None, examples=["username is already taken"])


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64, examples=["susan"])
    email: str = Field(min_length=3, max_length=120, examples=["susan@example.com"])
    password: str = Field(min_length=1, max_length=256)
    about_me: str = Field(default="", max_length=140)


class User(BaseModel):
    id: int
    username: str
    about_me: str
    email: str | None = None


class Token(BaseModel):
    token: str


class NewPost(BaseModel):
    body: str = Field(max_length=1400, examples=["Hello, world!"])


class Author(BaseModel):
    id: int
    username: str | None = None
    links: dict[str, str] | None = Field(default=None, alias="_links")


class Post(BaseModel):
    id: int
    body: str
    timestamp: str = Field(examples=["2026-11-24T12:00:00Z"])
    author: Author
    links: dict[str, str] | None = Field(default=None, alias="_links")


class Meta(BaseModel):
    page: int
    per_page: int
    total_pages: int
    total_items: int


class PostCollection(BaseModel):
    items: list[Post]
    meta: Meta = Field(alias="_meta")
    links: dict[str, str | None] = Field(alias="_links")


ERRORS = {
    400: {"model": Error, "description": "Invalid input"},
    401: {"model": Error, "description": "Missing or bad credentials"},
    404: {"model": Error, "description": "Not found"},
    409: {"model": Error, "description": "Conflicting concurrent change"},
    503: {"model": Error, "description": "A service behind the gateway is unavailable"},
}


def errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}
