from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPBasic
from starlette.requests import HTTPConnection

from gateway.backends import relay
from gateway.deps import AuthAttempt, Caller, Revoked, Services
from gateway.idempotency import IdempotencyKey, harmless
from gateway.schemas import Refresh, Tokens, checked, errors
from microblog_shared.http.auth import REVOKED_SESSIONS_HEADER, parse_revoked_sessions

router = APIRouter(tags=["tokens"])


class DocumentedBasic(HTTPBasic):
    """Shows HTTP Basic in the OpenAPI document but parses nothing: identity reads the header
    itself, as UTF-8 (FastAPI's HTTPBasic refuses passwords that are not ASCII)."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


basic = DocumentedBasic(auto_error=False, scheme_name="HTTPBasic", description="username and password")


@router.post(
    "/tokens",
    response_model=Tokens,
    response_model_exclude_unset=True,
    responses=errors(401, 429),
    dependencies=[Depends(basic), AuthAttempt],
    summary="Exchange a username and password (HTTP Basic) for an access and a refresh token",
    description=harmless(
        "each sign-in is a session of its own and changes nothing else, so a retry's answer is a pair "
        "as good as the first (a pair never used just expires)."
    ),
)
async def create_tokens(
    request: Request, response: Response, services: Services, idempotency_key: IdempotencyKey = None
):
    return checked(await services.identity.forward("POST", "/tokens", request), response)


@router.put(
    "/tokens",
    response_model=Tokens,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 429),
    dependencies=[AuthAttempt],
    summary="Rotate a refresh token into a new pair; reusing a rotated one signs the user out everywhere",
)
async def refresh_tokens(body: Refresh, request: Request, response: Response, services: Services, revoked: Revoked):
    answer = await services.identity.call("PUT", "/tokens", request, json=body.model_dump())
    ended = answer.headers.get(REVOKED_SESSIONS_HEADER)
    if ended:  # a reused token: its user's tokens are refused here before the 401 goes out, not once the bus says
        session_ids, tokens_expire_at = parse_revoked_sessions(ended)
        for session_id in session_ids:
            revoked.revoke(session_id, tokens_expire_at)
    return checked(relay(answer), response)


@router.delete(
    "/tokens",
    status_code=204,
    responses=errors(401),
    summary="Revoke the presented token's session: its tokens stop working at once",
)
async def revoke_token(caller: Caller, request: Request, services: Services, revoked: Revoked):
    response = await services.identity.forward("DELETE", "/tokens", request, caller)
    if response.status_code == 204:
        revoked.revoke(caller.session_id, caller.expires_at)
    return response
