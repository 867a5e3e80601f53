"""Access tokens (JWT, HS256) and the identity the gateway passes to services behind it, signed."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Header, HTTPException, Request

# Set by the gateway after it verified the caller's token, with a signature over both made with the
# secret the services share (MICROBLOG_INTERNAL_SECRET): a process that merely reaches a service's
# port can't name a caller.
USER_HEADER = "X-User-Id"
SESSION_HEADER = "X-Session-Id"
SIGNATURE_HEADER = "X-Caller-Signature"
SIGNATURE_SECONDS = 60  # how long a signature is believed
CLOCK_SKEW_SECONDS = 5  # a signer's clock may be this far ahead of ours
# Set by identity on the 401 for a reused refresh token, for the gateway that asked: the sessions it
# ended, which that gateway refuses before it answers (the others learn it from the bus).
REVOKED_SESSIONS_HEADER = "X-Revoked-Sessions"


class InvalidAccessToken(Exception):
    pass


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: str
    expires_at: datetime


def issue_access_token(user_id: int, session_id: str, secret: str, minutes: int) -> str:
    """A signed access token for one session; revoking the session kills it at once."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "sid": session_id,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def revoked_sessions(session_ids: list[str], tokens_expire_at: datetime) -> str:
    """The REVOKED_SESSIONS_HEADER value: when the sessions' access tokens expire, then their ids."""
    return " ".join([tokens_expire_at.isoformat(), *session_ids])


def parse_revoked_sessions(value: str) -> tuple[list[str], datetime]:
    """The session ids and expiry a `revoked_sessions` value holds."""
    expires, *session_ids = value.split()
    return session_ids, datetime.fromisoformat(expires)


def verify_access_token(token: str, secret: str) -> AccessClaims:
    """The claims of a valid, unexpired token; raises InvalidAccessToken otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "sid"]})
        return AccessClaims(int(claims["sub"]), str(claims["sid"]), datetime.fromtimestamp(claims["exp"], UTC))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidAccessToken(str(exc)) from None


def sign_caller(user_id: int | str, session_id: str | None, secret: str, at: int | None = None) -> str:
    """The SIGNATURE_HEADER value for this caller: `<unix seconds>.<hex HMAC-SHA256>`, made now or `at`."""
    seconds = int(time.time()) if at is None else at
    return f"{seconds}.{_mac(str(user_id), session_id or '', seconds, secret)}"


def caller_headers(user_id: int | str, session_id: str | None, secret: str) -> dict[str, str]:
    """The headers that name a caller to a service behind the gateway: user, session if any, signature."""
    headers = {USER_HEADER: str(user_id), SIGNATURE_HEADER: sign_caller(user_id, session_id, secret)}
    if session_id:
        headers[SESSION_HEADER] = session_id
    return headers


def caller_signature_valid(
    user_id: str, session_id: str | None, signature: str | None, secret: str, now: float | None = None
) -> bool:
    """Whether `signature` was made with `secret` for exactly these header values, and is still fresh."""
    seconds, _, mac = (signature or "").partition(".")
    if not (seconds.isascii() and seconds.isdigit()) or len(seconds) > 12 or not secret:  # "²" is a digit too
        return False
    age = (time.time() if now is None else now) - int(seconds)
    if not -CLOCK_SKEW_SECONDS <= age <= SIGNATURE_SECONDS:
        return False
    return hmac.compare_digest(mac.encode(), _mac(user_id, session_id or "", int(seconds), secret).encode())


def _mac(user_id: str, session_id: str, seconds: int, secret: str) -> str:
    message = f"{user_id}\n{session_id}\n{seconds}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# The dependencies below are async although they never wait: FastAPI runs a plain function in a
# thread, which on a hot read cost about a fifth of the timeline API's CPU (thread hand-offs).
async def _caller_from_gateway(
    request: Request,
    x_user_id: Annotated[int | None, Header()] = None,
    x_caller_signature: Annotated[str | None, Header()] = None,
) -> int | None:
    if x_user_id is None:
        return None
    headers, secret = request.headers, request.app.state.settings.internal_secret
    if not caller_signature_valid(headers[USER_HEADER], headers.get(SESSION_HEADER), x_caller_signature, secret):
        raise HTTPException(401, f"{USER_HEADER} is only believed from the gateway (missing or invalid signature)")
    return x_user_id


async def _user_from_gateway(caller: Annotated[int | None, Depends(_caller_from_gateway)]) -> int:
    if caller is None:
        raise HTTPException(401, "authentication required")
    return caller


async def _session_from_gateway(
    caller: Annotated[int, Depends(_user_from_gateway)],  # its signature covers the session too
    x_session_id: Annotated[str | None, Header(max_length=64)] = None,
) -> str:
    if not x_session_id:
        raise HTTPException(401, "authentication required")
    return x_session_id


# The caller, as the gateway passes them on: the one name every service's routes take.
CallerId = Annotated[int, Depends(_user_from_gateway)]
CallerIdIfAny = Annotated[int | None, Depends(_caller_from_gateway)]  # anonymous callers are welcome too
CallerSessionId = Annotated[str, Depends(_session_from_gateway)]

MAX_USER_ID = 2**63 - 1  # user ids are bigint everywhere; a larger one can't name anybody


async def _caller_in_range(caller: CallerId) -> int:
    if not 1 <= caller <= MAX_USER_ID:
        raise HTTPException(400, "X-User-Id must be a user id")
    return caller


CallerIdInRange = Annotated[int, Depends(_caller_in_range)]  # for writes that store the caller's id as a bigint
