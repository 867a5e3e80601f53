"""What every projection's read API shares: the bounded wait on the caller's consistency token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, HTTPException, Request

from microblog_shared.http.app import JSONBody
from microblog_shared.http.deps import ServiceSettings, Waiter
from microblog_shared.read.consistency import ConsistencyToken, InvalidToken


async def consistent(
    request: Request,
    settings: ServiceSettings,
    waiter: Waiter,
    x_consistency_token: Annotated[str | None, Header()] = None,
    x_consistency_timeout: Annotated[float | None, Header(ge=0, le=10)] = None,
) -> None:
    """Wait (bounded) until the projection has applied the caller's last writes (one token or several,
    comma-separated: see read.consistency).

    A router dependency, over the service's settings (consistency_wait_seconds) and the waiter of
    its projection.
    """
    if not x_consistency_token:
        return
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


def answer(request: Request, body: dict[str, Any] | list[Any]) -> JSONBody:
    """The body, encoded once, with whether the caller's consistency token was reached."""
    reached = getattr(request.state, "consistency_reached", None)
    return JSONBody(body, headers={"X-Consistency-Reached": reached} if reached else None)
