"""Identity's internal API, asked whether a user exists (a service never reads another's tables)."""

from __future__ import annotations

import httpx

from microblog_shared.runtime import context
from microblog_shared.http.app import CORRELATION_HEADER


class IdentityUnavailable(Exception):
    """Identity could not answer (down, timed out, or failing)."""


class IdentityUsers:
    """The users known to the identity service, over an httpx client whose base URL is identity."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @classmethod
    def at(cls, base_url: str, timeout_seconds: float) -> "IdentityUsers":
        """A directory talking to identity at `base_url` (the process's own client)."""
        return cls(httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds))

    async def exists(self, user_id: int) -> bool:
        """True for a registered user, False for an unknown one; IdentityUnavailable otherwise."""
        correlation = context.correlation_id.get()
        headers = {CORRELATION_HEADER: correlation} if correlation else {}
        try:
            response = await self.client.get(f"/users/{user_id}", headers=headers)
        except httpx.HTTPError as exc:
            raise IdentityUnavailable(f"identity is unreachable: {exc!r}") from exc
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise IdentityUnavailable(f"identity answered {response.status_code}")

    async def close(self) -> None:
        await self.client.aclose()
