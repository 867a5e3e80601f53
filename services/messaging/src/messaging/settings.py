"""Messaging's settings: the shared ones plus where identity answers."""

from pydantic import Field

from microblog_shared.runtime.settings import Settings


class MessagingSettings(Settings):
    service_name: str = "messaging"
    # Identity's internal API, asked whether a recipient exists (and their username).
    identity_url: str = "http://127.0.0.1:8101"
    identity_timeout_seconds: float = Field(default=5.0, gt=0)
