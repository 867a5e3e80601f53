"""Identity's use cases: load, decide, append. No HTTP here."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncEngine

from identity import domain
from identity.adapters import passwords, users
from microblog_shared.auth import issue_access_token
from microblog_shared.events import Envelope
from microblog_shared.eventstore import EventStore, Reservation


async def register_user(store: EventStore, request: domain.Registration) -> list[Envelope]:
    password_hash = await passwords.hash_password(request.password)
    user_id = await store.next_id("user_ids")
    registered, password = domain.register(user_id, request, password_hash, datetime.now(timezone.utc))
    return await store.append(
        domain.stream_id(user_id),
        expected_version=0,
        events=[registered, password],
        reserve=[Reservation("username", registered.username.lower()), Reservation("email", registered.email.lower())],
        update_state=users.record_registration(registered, password),
    )


async def issue_token(engine: AsyncEngine, username: str, password: str, secret: str, minutes: int) -> str | None:
    """An access token for valid credentials, else None (same cost either way)."""
    user = await users.find_by_username(engine, username)
    if not await passwords.verify_password(user.password_hash if user else None, password):
        return None
    return issue_access_token(user.id, uuid4().hex, secret, minutes)
