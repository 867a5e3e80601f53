"""Identity's handlers over the in-memory event store: its lookups folded from the streams."""

from __future__ import annotations

from datetime import datetime

import pytest

from identity import domain
from identity.adapters import sessions
from identity.events import RefreshTokenRotated, SessionStarted
from microblog_shared.events import PasswordResetRequested, registry
from microblog_testkit.fakes import InMemoryEventStore


class InMemoryIdentityStore(InMemoryEventStore):
    """`handlers.IdentityStore` in memory: what the state tables would say, folded from the streams."""

    def _events(self, stream_id: str) -> list:
        return [registry.decode(envelope) for envelope in self.streams.get(stream_id, [])]

    def _users(self) -> list[domain.User]:
        return [self._user(stream) for stream in self.streams if stream.startswith("user-")]

    def _user(self, stream_id: str) -> domain.User | None:
        return domain.fold_user(self._events(stream_id))

    async def user(self, user_id: int) -> domain.User | None:
        return self._user(domain.stream_id(user_id))

    async def user_named(self, username: str) -> domain.User | None:
        return next((u for u in self._users() if u.username.lower() == username.lower()), None)

    async def user_with_email(self, email: str) -> int | None:
        return next((u.user_id for u in self._users() if u.email.lower() == email.strip().lower()), None)

    async def last_reset_request(self, user_id: int) -> datetime | None:
        expiries = [
            e.expires_at for e in self._events(domain.stream_id(user_id)) if isinstance(e, PasswordResetRequested)
        ]
        return max(expiries) - domain.RESET_LIFETIME if expiries else None

    async def session(self, session_id: str) -> domain.Session | None:
        return domain.fold_session(self._events(domain.session_stream_id(session_id)))

    async def refresh_token(self, token: str) -> sessions.IssuedRefreshToken | None:
        wanted = sessions.refresh_hash(token)
        for stream in self.streams:
            for event in self._events(stream) if stream.startswith("session-") else []:
                if isinstance(event, (SessionStarted, RefreshTokenRotated)) and event.refresh_hash == wanted:
                    generation = event.generation if isinstance(event, RefreshTokenRotated) else 1
                    return sessions.IssuedRefreshToken(stream.removeprefix("session-"), generation)
        return None

    async def live_session_ids(self, user_id: int, now: datetime) -> list[str]:
        found = [
            await self.session(stream.removeprefix("session-"))
            for stream in self.streams
            if stream.startswith("session-")
        ]
        return [s.session_id for s in found if s is not None and s.user_id == user_id and s.active(now)]


@pytest.fixture
def store() -> InMemoryIdentityStore:
    return InMemoryIdentityStore(producer="identity")
