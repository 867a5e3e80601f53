from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.deps import AuthAttempt, Services
from gateway.idempotency import IdempotencyKey, harmless
from gateway.schemas import PasswordReset, ResetRequest, errors

router = APIRouter(tags=["password resets"])


@router.post(
    "/reset_password_request",
    status_code=202,
    responses=errors(400, 429),
    dependencies=[AuthAttempt],
    summary="Mail a password-reset link to this address if an account has it (202 either way)",
    description="A retry with the same `Idempotency-Key` (1 to 255 printable ASCII characters; anything else is "
    "a 400) and the same address mails nothing more; it answers 202 as the first did.",
)
async def request_password_reset(
    body: ResetRequest, request: Request, services: Services, idempotency_key: IdempotencyKey = None
):
    return await services.identity.forward(
        "POST", "/password-resets", request, json=body.model_dump(), idempotency_key=idempotency_key
    )


@router.post(
    "/reset_password",
    status_code=204,
    responses=errors(400, 429),
    dependencies=[AuthAttempt],
    summary="Set a new password with the token from a reset link (single use, 10 minutes)",
    description=harmless("the link is single use, so a retry sets nothing twice (it is refused as used)."),
)
async def reset_password(
    body: PasswordReset, request: Request, services: Services, idempotency_key: IdempotencyKey = None
):
    return await services.identity.forward("POST", "/password-resets/confirm", request, json=body.model_dump())
