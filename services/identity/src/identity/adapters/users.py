"""The users state table: the User aggregate's snapshot, written in its events' transaction.

Handlers load a user from its row plus any events after the row's version, so a user's
growing stream (a UserSeen a minute while active) is never read from the start.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from identity import domain, pending_email  # noqa: F401  (registers the fold cases of its events)
from identity.adapters.streams import events_after
from microblog_shared.events import PasswordResetRequested
from microblog_shared.write.port import StateUpdate

MAX_ID = 2**63 - 1  # bigint: larger ids can't exist, and PostgreSQL would refuse them
_COLUMNS = (
    "id, username, email, about_me, registered_at, password_hash, last_seen, version, pending_email, pending_token_hash"
)


def save(user: domain.User) -> StateUpdate:
    """Write the user's new state; run by EventStore.append inside the append's transaction."""

    async def update(conn: AsyncConnection) -> None:
        await conn.execute(
            text(f"""INSERT INTO users ({_COLUMNS})
                     VALUES (:id, :username, :email, :about_me, :registered_at, :password_hash, :last_seen, :version,
                             :pending_email, :pending_token_hash)
                     ON CONFLICT (id) DO UPDATE SET username = excluded.username, email = excluded.email,
                         about_me = excluded.about_me, password_hash = excluded.password_hash,
                         last_seen = excluded.last_seen, version = excluded.version,
                         pending_email = excluded.pending_email, pending_token_hash = excluded.pending_token_hash"""),
            {
                "id": user.user_id,
                "username": user.username,
                "email": user.email,
                "about_me": user.about_me,
                "registered_at": user.registered_at,
                "password_hash": user.password_hash,
                "last_seen": user.last_seen,
                "version": user.version,
                "pending_email": user.pending_email,
                "pending_token_hash": user.pending_token_hash,
            },
        )

    return update


async def load(engine: AsyncEngine, user_id: int) -> domain.User | None:
    """The user as of the newest event of its stream, or None."""
    if not 0 < user_id <= MAX_ID:
        return None
    async with engine.connect() as conn:
        row = (await conn.execute(text(f"SELECT {_COLUMNS} FROM users WHERE id = :id"), {"id": user_id})).first()
        snapshot = _user(row) if row else None
        later = await events_after(conn, domain.stream_id(user_id), snapshot.version if snapshot else 0)
    return domain.fold_user(later, snapshot)


async def find_by_username(engine: AsyncEngine, username: str) -> domain.User | None:
    """The user with this name (ignoring case), as its row says."""
    if not domain.USERNAME.match(username):
        return None  # also keeps NUL bytes, which PostgreSQL text refuses, away from the query
    async with engine.connect() as conn:
        row = (
            await conn.execute(text(f"SELECT {_COLUMNS} FROM users WHERE lower(username) = lower(:u)"), {"u": username})
        ).first()
    return _user(row) if row else None


async def id_with_email(engine: AsyncEngine, email: str) -> int | None:
    """The id of the user with this email address (ignoring case and surrounding blanks), if any."""
    if not domain.EMAIL.match(email.strip()):
        return None
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT id FROM users WHERE lower(email) = lower(:e)"), {"e": email.strip()})


async def last_reset_request(engine: AsyncEngine, user_id: int) -> datetime | None:
    """When the newest reset of the account was asked for (on the clock that asked)."""
    async with engine.connect() as conn:
        expires = await conn.scalar(
            text("""SELECT max(CAST(payload->>'expires_at' AS timestamptz)) FROM events
                    WHERE stream_id = :s AND type = :t"""),
            {"s": domain.stream_id(user_id), "t": PasswordResetRequested.type_name},
        )
    return expires - domain.RESET_LIFETIME if expires else None


def _user(row) -> domain.User:
    fields = row._mapping
    return domain.User(
        user_id=fields["id"],
        username=fields["username"],
        email=fields["email"],
        about_me=fields["about_me"],
        registered_at=fields["registered_at"],
        password_hash=fields["password_hash"],
        last_seen=fields["last_seen"],
        version=fields["version"],
        pending_email=fields["pending_email"],
        pending_token_hash=fields["pending_token_hash"],
    )
