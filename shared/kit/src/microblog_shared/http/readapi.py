"""What every projection's read API shares: the bounded wait on the caller's consistency token, and
answers with an ETag (conditional GET)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import Header, HTTPException, Request, Response

from microblog_shared.read.consistency import ConsistencyToken, InvalidToken, ProjectionWaiter
from microblog_shared.runtime.settings import Settings


async def consistent(
    request: Request,
    x_consistency_token: Annotated[str | None, Header()] = None,
    x_consistency_timeout: Annotated[float | None, Header(ge=0, le=10)] = None,
) -> None:
    """Wait (bounded) until the projection has applied the caller's last writes (one token or several,
    comma-separated: see read.consistency).

    A router dependency, over the service's settings (consistency_wait_seconds) and the waiter of
    its projection, taken from the app's state only when a token came: every sub-dependency costs
    FastAPI's solver time on every read, needed or not.
    """
    if not x_consistency_token:
        return
    settings: Settings = request.app.state.settings
    waiter: ProjectionWaiter = request.app.state.waiter
    try:
        tokens = ConsistencyToken.parse_all(x_consistency_token)
    except InvalidToken as exc:
        raise HTTPException(400, str(exc)) from None
    timeout = min(
        x_consistency_timeout if x_consistency_timeout is not None else settings.consistency_wait_seconds,
        settings.consistency_wait_seconds,
    )
    reached = await waiter.wait(tokens, timeout)
    request.state.consistency_reached = "true" if reached else "false"


def answer(request: Request, body: dict[str, Any] | list[Any]) -> Response:
    """The body, encoded once, with its strong `ETag` and whether the caller's consistency token was reached.

    The ETag is a digest of the encoded body, so it changes exactly when the answer does; a caller
    that sends it back in `If-None-Match` gets a `304` without a body while the answer is unchanged.
    """
    reached = getattr(request.state, "consistency_reached", None)
    content = orjson.dumps(body)
    headers = {"ETag": entity_tag(content)}
    if reached:
        headers["X-Consistency-Reached"] = reached
    if not_modified(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(content, headers=headers, media_type="application/json")


def entity_tag(content: bytes) -> str:
    """A strong entity tag of an encoded answer: a digest of its bytes."""
    return f'"{hashlib.blake2b(content, digest_size=16).hexdigest()}"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """Whether an `If-None-Match` header names `tag` (RFC 9110: weak comparison, `*` names any)."""
    if not if_none_match:
        return False
    given = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in given or tag in given
