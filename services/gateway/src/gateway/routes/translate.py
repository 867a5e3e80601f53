from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from gateway.auth import Caller
from gateway.schemas import Translated, TranslationRequest, errors
from gateway.translation import TranslationUnavailable

router = APIRouter(tags=["translation"])


@router.post("/translate", response_model=Translated, responses=errors(400, 401),
             summary="Translate a text (a post) into another language; 503 when no translator is configured")
async def translate(body: TranslationRequest, caller: Caller, request: Request):
    try:
        text = await request.app.state.translator.translate(body.text, body.source_language, body.dest_language)
    except TranslationUnavailable as unavailable:
        raise HTTPException(503, str(unavailable)) from None
    return {"text": text}
