"""Identity's own state table, written in the same transaction as the user's events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microblog_shared.events import PasswordSet, UserRegistered


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    email: str
    about_me: str
    password_hash: str


def record_registration(registered: UserRegistered, password: PasswordSet):
    async def update(conn: AsyncConnection) -> None:
        await conn.execute(
            text("""INSERT INTO users (id, username, email, about_me, password_hash, registered_at)
                    VALUES (:id, :username, :email, :about_me, :hash, :at)"""),
            {"id": registered.user_id, "username": registered.username, "email": registered.email,
             "about_me": registered.about_me, "hash": password.password_hash, "at": registered.registered_at},
        )

    return update


async def find_by_username(engine: AsyncEngine, username: str) -> UserRow | None:
    async with engine.connect() as conn:
        row = (await conn.execute(
            text("SELECT id, username, email, about_me, password_hash FROM users WHERE lower(username) = lower(:u)"),
            {"u": username},
        )).first()
    return UserRow(**row._mapping) if row else None


async def find_by_id(engine: AsyncEngine, user_id: int) -> UserRow | None:
    async with engine.connect() as conn:
        row = (await conn.execute(
            text("SELECT id, username, email, about_me, password_hash FROM users WHERE id = :id"), {"id": user_id}
        )).first()
    return UserRow(**row._mapping) if row else None
