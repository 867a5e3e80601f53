"""Posts' internal API: the file of a finished export, fetched when its mail is sent."""

from __future__ import annotations

import httpx

from microblog_shared.http.auth import caller_headers
from notifier.delivery import PermanentFailure
from notifier.mails import Attachment


class ExportNotReady(Exception):
    """Posts still writes the file (409): try again later."""


class PostsExports:
    """Asks posts for the file as the task's owner, signed like the gateway signs its callers."""

    def __init__(self, client: httpx.AsyncClient, secret: str) -> None:
        self.client, self.secret = client, secret

    @classmethod
    def at(cls, base_url: str, timeout: float, secret: str) -> PostsExports:
        return cls(httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout), secret)

    async def file(self, attachment: Attachment) -> bytes:
        """The export's JSON (`{"posts": [...]}`) as posts serves it to the task's owner."""
        response = await self.client.get(
            f"/exports/{attachment.task_id}/file", headers=caller_headers(attachment.user_id, None, self.secret)
        )
        if response.status_code == 409:
            raise ExportNotReady(f"export {attachment.task_id} is still running")
        if response.status_code == 404:
            raise PermanentFailure(f"export {attachment.task_id} is gone (posts answered 404)")
        response.raise_for_status()
        return response.content

    async def close(self) -> None:
        await self.client.aclose()
