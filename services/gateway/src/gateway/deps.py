"""What the gateway's routes take: the services behind it, the verified caller, the rate limit, the translator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth import Activity
from gateway.backends import Backends
from gateway.ratelimit import RateLimiter, client_address
from gateway.sessions import RevokedSessions
from gateway.settings import GatewaySettings
from gateway.translation import Translator as TranslatorService
from gateway.verified import VerifiedTokens
from microblog_shared.http.auth import AccessClaims, InvalidAccessToken
from microblog_shared.http.deps import collaborator
from microblog_shared.http.pagination import PageParams, page_params

bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/tokens")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="microblog"'}

Settings = Annotated[GatewaySettings, Depends(collaborator("settings"))]
Services = Annotated[Backends, Depends(collaborator("backends"))]
Revoked = Annotated[RevokedSessions, Depends(collaborator("revoked"))]
Translator = Annotated[TranslatorService, Depends(collaborator("translator"))]
Page = Annotated[PageParams, Depends(page_params)]


async def verified_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    tokens: Annotated[VerifiedTokens, Depends(collaborator("verified_tokens"))],
    revoked: Revoked,
    activity: Annotated[Activity, Depends(collaborator("activity"))],
) -> AccessClaims:
    """The claims of the caller's verified, unrevoked bearer token (401 otherwise); their activity is noted."""
    if credentials is None:
        raise HTTPException(401, "a bearer token is required", headers=CHALLENGE)
    try:
        claims = tokens.claims(credentials.credentials)
    except InvalidAccessToken:
        raise HTTPException(401, "the token is invalid or expired", headers=CHALLENGE) from None
    if revoked.is_revoked(claims.session_id):
        raise HTTPException(401, "the token has been revoked", headers=CHALLENGE)
    activity.saw(claims.user_id)
    return claims


Caller = Annotated[AccessClaims, Depends(verified_caller)]


def limit_auth_attempts(
    request: Request, settings: Settings, limiter: Annotated[RateLimiter, Depends(collaborator("auth_limiter"))]
) -> None:
    """One attempt per call, keyed by the client's address and the route."""
    limiter.check(f"{client_address(request, settings.trusted_proxy_secret)} {request.method} {request.url.path}")


AuthAttempt = Depends(limit_auth_attempts)
