"""Who is calling: a verified bearer token becomes the `CurrentUser` of a route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from microblog_shared.auth import InvalidAccessToken, verify_access_token

bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/tokens")


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> int:
    challenge = {"WWW-Authenticate": 'Bearer realm="microblog"'}
    if credentials is None:
        raise HTTPException(401, "a bearer token is required", headers=challenge)
    try:
        return verify_access_token(credentials.credentials, request.app.state.settings.jwt_secret).user_id
    except InvalidAccessToken:
        raise HTTPException(401, "the token is invalid or expired", headers=challenge) from None


CurrentUser = Annotated[int, Depends(current_user)]
