from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPBasic

from gateway.auth import Caller
from gateway.ratelimit import limit_auth_attempts
from gateway.schemas import Refresh, Tokens, errors

router = APIRouter(tags=["tokens"])


class DocumentedBasic(HTTPBasic):
    """Shows HTTP Basic in the OpenAPI document but parses nothing: identity reads the header
    itself, as UTF-8 (FastAPI's HTTPBasic refuses passwords that are not ASCII)."""

    async def __call__(self, request: Request) -> None:
        return None


basic = DocumentedBasic(auto_error=False, scheme_name="HTTPBasic", description="username and password")


@router.post("/tokens", response_model=Tokens, responses=errors(401, 429),
             dependencies=[Depends(basic), Depends(limit_auth_attempts)],
             summary="Exchange a username and password (HTTP Basic) for an access and a refresh token")
async def create_tokens(request: Request):
    return await request.app.state.backends.identity.forward("POST", "/tokens", request)


@router.put("/tokens", response_model=Tokens, responses=errors(400, 401, 429),
            dependencies=[Depends(limit_auth_attempts)],
            summary="Rotate a refresh token into a new pair; reusing a rotated one signs the user out everywhere")
async def refresh_tokens(body: Refresh, request: Request):
    return await request.app.state.backends.identity.forward("PUT", "/tokens", request, json=body.model_dump())


@router.delete("/tokens", status_code=204, responses=errors(401),
               summary="Revoke the presented token's session: its tokens stop working at once")
async def revoke_token(caller: Caller, request: Request):
    response = await request.app.state.backends.identity.forward("DELETE", "/tokens", request, caller)
    if response.status_code == 204:
        request.app.state.revoked.revoke(caller.session_id, caller.expires_at)
    return response
