from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPBasic

from gateway.schemas import Token, errors

router = APIRouter(tags=["tokens"])
basic = HTTPBasic(auto_error=False, description="username and password")


@router.post("/tokens", response_model=Token, responses=errors(401, 503), dependencies=[Depends(basic)],
             summary="Exchange a username and password (HTTP Basic) for an access token")
async def create_token(request: Request):
    return await request.app.state.backends.identity.forward("POST", "/tokens", request)
