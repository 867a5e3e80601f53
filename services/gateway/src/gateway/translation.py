"""Translating post text: Microsoft Translator (v3 REST API, by subscription key), or none at all."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://api.cognitive.microsofttranslator.com"


class TranslationUnavailable(Exception):
    """No translator is configured, or the one configured failed: the client may try later."""


class Translator(Protocol):
    async def translate(self, text: str, source_language: str, dest_language: str) -> str: ...

    async def close(self) -> None: ...


class NoTranslator:
    async def translate(self, text: str, source_language: str, dest_language: str) -> str:
        raise TranslationUnavailable(
            "translation is not configured on this server (set MICROBLOG_TRANSLATOR_KEY to a Microsoft Translator key)"
        )

    async def close(self) -> None:
        pass


class MicrosoftTranslator:
    def __init__(
        self,
        key: str,
        region: str = "",
        endpoint: str = DEFAULT_ENDPOINT,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Ocp-Apim-Subscription-Key": key}
        if region:
            headers["Ocp-Apim-Subscription-Region"] = region
        self.client = httpx.AsyncClient(base_url=endpoint, headers=headers, timeout=timeout, transport=transport)

    async def translate(self, text: str, source_language: str, dest_language: str) -> str:
        params = {"api-version": "3.0", "to": dest_language}
        if source_language:  # empty: the service detects the language
            params["from"] = source_language
        try:
            answer = await self.client.post("/translate", params=params, json=[{"Text": text}])
        except httpx.HTTPError as error:
            log.warning("Microsoft Translator is unreachable: %r", error)
            raise TranslationUnavailable("the translation service is unreachable, try again later") from None
        if answer.status_code != 200:
            log.warning("Microsoft Translator answered %s: %s", answer.status_code, answer.text[:300])
            raise TranslationUnavailable("the translation service failed, try again later")
        try:
            return answer.json()[0]["translations"][0]["text"]
        except (ValueError, LookupError, TypeError):
            log.warning("Microsoft Translator answered something unexpected: %s", answer.text[:300])
            raise TranslationUnavailable("the translation service failed, try again later") from None

    async def close(self) -> None:
        await self.client.aclose()


def translator_from(key: str, region: str, endpoint: str) -> Translator:
    return MicrosoftTranslator(key, region, endpoint) if key else NoTranslator()
