from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.deps import AuthAttempt, Services
from gateway.schemas import PasswordReset, ResetRequest, errors

router = APIRouter(tags=["password resets"])


@router.post(
    "/reset_password_request",
    status_code=202,
    responses=errors(400, 429),
    dependencies=[AuthAttempt],
    summary="Mail a password-reset link to this address if an account has it (202 either way)",
)
async def request_password_reset(body: ResetRequest, request: Request, services: Services):
    return await services.identity.forward("POST", "/password-resets", request, json=body.model_dump())


@router.post(
    "/reset_password",
    status_code=204,
    responses=errors(400, 429),
    dependencies=[AuthAttempt],
    summary="Set a new password with the token from a reset link (single use, 10 minutes)",
)
async def reset_password(body: PasswordReset, request: Request, services: Services):
    return await services.identity.forward("POST", "/password-resets/confirm", request, json=body.model_dump())
