"""Session state tables, written in the transaction of the session's events.

`sessions` is the Session aggregate's snapshot; `refresh_tokens` maps the sha256 of every
refresh token ever issued (never the token itself) to its session and generation.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from identity import domain
from identity.adapters.streams import events_after
from identity.events import RefreshTokenRotated, SessionStarted
from microblog_shared.events import Event
from microblog_shared.write.port import StateUpdate

_COLUMNS = "id, user_id, started_at, refresh_expires_at, generation, revoked_at, tokens_expire_at, version"


@dataclass(frozen=True)
class IssuedRefreshToken:
    session_id: str
    generation: int


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the hash that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, refresh_hash(token)


def refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def save(session: domain.Session, events: Sequence[Event]) -> StateUpdate:
    """Write the session's new state and any refresh token its events issued, in the append's transaction."""

    async def update(conn: AsyncConnection) -> None:
        await conn.execute(
            text(f"""INSERT INTO sessions ({_COLUMNS})
                     VALUES (:id, :user_id, :started_at, :refresh_expires_at, :generation, :revoked_at,
                             :tokens_expire_at, :version)
                     ON CONFLICT (id) DO UPDATE SET refresh_expires_at = excluded.refresh_expires_at,
                         generation = excluded.generation, revoked_at = excluded.revoked_at,
                         tokens_expire_at = excluded.tokens_expire_at, version = excluded.version"""),
            {
                "id": session.session_id,
                "user_id": session.user_id,
                "started_at": session.started_at,
                "refresh_expires_at": session.refresh_expires_at,
                "generation": session.generation,
                "revoked_at": session.revoked_at,
                "tokens_expire_at": session.tokens_expire_at,
                "version": session.version,
            },
        )
        for event in events:
            if isinstance(event, (SessionStarted, RefreshTokenRotated)):
                generation = event.generation if isinstance(event, RefreshTokenRotated) else 1
                await conn.execute(
                    text("INSERT INTO refresh_tokens (hash, session_id, generation) VALUES (:h, :s, :g)"),
                    {"h": event.refresh_hash, "s": session.session_id, "g": generation},
                )

    return update


async def load(engine: AsyncEngine, session_id: str) -> domain.Session | None:
    """The session as of the newest event of its stream, or None (also for malformed ids)."""
    if not domain.SESSION_ID.match(session_id):
        return None
    async with engine.connect() as conn:
        row = (await conn.execute(text(f"SELECT {_COLUMNS} FROM sessions WHERE id = :id"), {"id": session_id})).first()
        snapshot = _session(row) if row else None
        later = await events_after(conn, domain.session_stream_id(session_id), snapshot.version if snapshot else 0)
    return domain.fold_session(later, snapshot)


async def find_refresh_token(engine: AsyncEngine, token: str) -> IssuedRefreshToken | None:
    """Which session and generation issued this refresh token, if any ever did."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT session_id, generation FROM refresh_tokens WHERE hash = :h"), {"h": refresh_hash(token)}
            )
        ).first()
    return IssuedRefreshToken(row.session_id, row.generation) if row else None


async def live_session_ids(engine: AsyncEngine, user_id: int, now: datetime) -> list[str]:
    """The user's sessions that are neither revoked nor past their refresh token's expiry."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT id FROM sessions WHERE user_id = :u AND revoked_at IS NULL AND refresh_expires_at > :now
                    ORDER BY started_at"""),
            {"u": user_id, "now": now},
        )
        return [row.id for row in rows]


async def revoked_sessions(engine: AsyncEngine, now: datetime) -> list[dict]:
    """Revoked sessions whose access tokens could still be presented: [{session_id, tokens_expire_at}]."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT id, tokens_expire_at FROM sessions
                    WHERE revoked_at IS NOT NULL AND tokens_expire_at > :now ORDER BY tokens_expire_at"""),
            {"now": now},
        )
        return [{"session_id": row.id, "tokens_expire_at": row.tokens_expire_at} for row in rows]


def _session(row) -> domain.Session:
    fields = row._mapping
    return domain.Session(
        session_id=fields["id"],
        user_id=fields["user_id"],
        started_at=fields["started_at"],
        refresh_expires_at=fields["refresh_expires_at"],
        generation=fields["generation"],
        revoked_at=fields["revoked_at"],
        tokens_expire_at=fields["tokens_expire_at"],
        version=fields["version"],
    )
