from __future__ import annotations

from fastapi import APIRouter

from gateway.deps import Caller, Translator
from gateway.schemas import Translated, TranslationRequest, errors

router = APIRouter(tags=["translation"])


# TranslationUnavailable answers 503 (its refusal in app.py).
@router.post(
    "/translate",
    response_model=Translated,
    responses=errors(400, 401),
    summary="Translate a text (a post) into another language; 503 when no translator is configured",
)
async def translate(body: TranslationRequest, caller: Caller, translator: Translator):
    return {"text": await translator.translate(body.text, body.source_language, body.dest_language)}
