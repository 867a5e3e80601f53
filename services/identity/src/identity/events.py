"""Identity's private events: they never leave the service (no topic), so their contracts live here.

Registered with the kit's registry on import, so identity's store (and its relay, which skips
them) can decode them. `PasswordSet` stays in the kit: it is the kit's own example of a private
event in its relay and registry tests, and the bench seeds it.
"""

from __future__ import annotations

from datetime import datetime

from microblog_shared.events import Event, registry


class SessionStarted(Event):
    """A login; its access tokens name the session, its refresh token rotates."""

    topic = None

    session_id: str
    user_id: int
    refresh_hash: str
    started_at: datetime
    expires_at: datetime


class RefreshTokenRotated(Event):
    topic = None

    session_id: str
    refresh_hash: str
    generation: int
    expires_at: datetime


class EmailChangeConfirmed(Event):
    """The new address's link was used: the pending change is done (UserProfileUpdated says the new address)."""

    topic = None

    user_id: int
    email: str
    confirmed_at: datetime


for _contract in (SessionStarted, RefreshTokenRotated, EmailChangeConfirmed):
    registry.register(_contract)
