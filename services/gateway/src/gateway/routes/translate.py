from __future__ import annotations

from fastapi import APIRouter

from gateway.deps import Caller, Translator
from gateway.idempotency import IdempotencyKey, harmless
from gateway.schemas import Translated, TranslationRequest, errors

router = APIRouter(tags=["translation"])


# TranslationUnavailable answers 503 (its refusal in app.py).
@router.post(
    "/translate",
    response_model=Translated,
    responses=errors(400, 401),
    summary="Translate a text (a post) into another language; 503 when no translator is configured",
    description=harmless("a translation stores nothing, so a retry only translates again."),
)
async def translate(
    body: TranslationRequest, caller: Caller, translator: Translator, idempotency_key: IdempotencyKey = None
):
    return {"text": await translator.translate(body.text, body.source_language, body.dest_language)}
