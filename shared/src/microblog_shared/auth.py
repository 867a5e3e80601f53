"""Access tokens (JWT, HS256) and the identity the gateway passes to services behind it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated

import jwt
from fastapi import Depends, Header, HTTPException

# Set by the gateway after it verified the caller's token; services are never exposed directly.
USER_HEADER = "X-User-Id"


class InvalidAccessToken(Exception):
    pass


def issue_access_token(user_id: int, secret: str, minutes: int) -> str:
    now = datetime.now(timezone.utc)
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=minutes), "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_access_token(token: str, secret: str) -> int:
    """The user id of a valid, unexpired token; raises InvalidAccessToken otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidAccessToken(str(exc)) from None


def _user_from_gateway(x_user_id: Annotated[int | None, Header()] = None) -> int:
    if x_user_id is None:
        raise HTTPException(401, "authentication required")
    return x_user_id


CurrentUserId = Annotated[int, Depends(_user_from_gateway)]
