"""Who is calling: a verified, unrevoked bearer token becomes the `CurrentUser` of a route."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from microblog_shared.http.auth import AccessClaims, InvalidAccessToken, verify_access_token

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/tokens")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="microblog"'}


async def current_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> AccessClaims:
    if credentials is None:
        raise HTTPException(401, "a bearer token is required", headers=CHALLENGE)
    state = request.app.state
    try:
        claims = verify_access_token(credentials.credentials, state.settings.jwt_secret)
    except InvalidAccessToken:
        raise HTTPException(401, "the token is invalid or expired", headers=CHALLENGE) from None
    if state.revoked.is_revoked(claims.session_id):
        raise HTTPException(401, "the token has been revoked", headers=CHALLENGE)
    state.activity.saw(claims.user_id)
    return claims


class Activity:
    """Reports a user's activity to identity (last_seen) at most once per interval."""

    def __init__(self, report, interval: float) -> None:
        self.report = report
        self.interval = interval
        self._last: dict[int, float] = {}
        self._tasks: set[asyncio.Task] = set()

    def saw(self, user_id: int) -> None:
        now = time.monotonic()
        if now - self._last.get(user_id, -1e9) < self.interval:
            return
        self._last[user_id] = now
        task = asyncio.get_running_loop().create_task(self._report(user_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report(self, user_id: int) -> None:
        try:
            await self.report(user_id)
        except Exception as exc:  # last_seen is best effort: the request itself must not fail
            log.warning("could not report activity of user %s: %r", user_id, exc)


Caller = Annotated[AccessClaims, Depends(current_caller)]


async def current_user(caller: Caller) -> int:
    return caller.user_id


CurrentUser = Annotated[int, Depends(current_user)]
