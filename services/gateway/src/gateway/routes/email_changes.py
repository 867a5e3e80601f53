from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.deps import AuthAttempt, Services
from gateway.idempotency import IdempotencyKey, harmless
from gateway.schemas import EmailConfirmation, errors

router = APIRouter(tags=["users"])


@router.post(
    "/email_confirmation",
    status_code=204,
    responses=errors(400, 409, 429),
    dependencies=[AuthAttempt],
    summary="Apply an email change with the token from the link mailed to the new address (single use, 24 hours)",
    description=harmless("the link is single use, so a retry changes nothing twice (it is refused as used)."),
)
async def confirm_email(
    body: EmailConfirmation, request: Request, services: Services, idempotency_key: IdempotencyKey = None
):
    return await services.identity.forward("POST", "/email-changes/confirm", request, json=body.model_dump())
