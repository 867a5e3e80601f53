"""Identity's event store: PostgreSQL's, answering the handlers' lookups from the state tables its appends keep."""

from __future__ import annotations

from datetime import datetime

from identity import domain
from identity.adapters import sessions, users
from microblog_shared.write.eventstore import EventStore


class IdentityEventStore(EventStore):
    """`handlers.IdentityStore` on PostgreSQL."""

    async def user(self, user_id: int) -> domain.User | None:
        return await users.load(self.engine, user_id)

    async def user_named(self, username: str) -> domain.User | None:
        return await users.find_by_username(self.engine, username)

    async def user_with_email(self, email: str) -> int | None:
        return await users.id_with_email(self.engine, email)

    async def last_reset_request(self, user_id: int) -> datetime | None:
        return await users.last_reset_request(self.engine, user_id)

    async def session(self, session_id: str) -> domain.Session | None:
        return await sessions.load(self.engine, session_id)

    async def refresh_token(self, token: str) -> sessions.IssuedRefreshToken | None:
        return await sessions.find_refresh_token(self.engine, token)

    async def live_session_ids(self, user_id: int, now: datetime) -> list[str]:
        return await sessions.live_session_ids(self.engine, user_id, now)
