"""Identity's internal API, asked about a user: a service never reads another's tables."""

from __future__ import annotations

from typing import Any

import httpx

from microblog_shared.http.app import CORRELATION_HEADER
from microblog_shared.runtime import context


class IdentityUnavailable(Exception):
    """Identity could not answer (down, timed out, or failing)."""


class IdentityUsers:
    """The users known to the identity service, over an httpx client whose base URL is identity."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @classmethod
    def at(cls, base_url: str, timeout_seconds: float) -> IdentityUsers:
        """A directory talking to identity at `base_url` (the process's own client)."""
        return cls(httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds))

    async def exists(self, user_id: int) -> bool:
        """True for a registered user, False for an unknown one; IdentityUnavailable otherwise."""
        return await self._profile(user_id) is not None

    async def username_of(self, user_id: int) -> str | None:
        """The username of a registered user, None for an unknown one; IdentityUnavailable otherwise."""
        profile = await self._profile(user_id)
        return str(profile["username"]) if profile is not None else None

    async def _profile(self, user_id: int) -> dict[str, Any] | None:
        correlation = context.correlation_id.get()
        headers = {CORRELATION_HEADER: correlation} if correlation else {}
        try:
            response = await self.client.get(f"/users/{user_id}", headers=headers)
        except httpx.HTTPError as exc:
            raise IdentityUnavailable(f"identity is unreachable: {exc!r}") from exc
        if response.status_code == 200:
            profile: dict[str, Any] = response.json()
            return profile
        if response.status_code == 404:
            return None
        raise IdentityUnavailable(f"identity answered {response.status_code}")

    async def close(self) -> None:
        await self.client.aclose()
