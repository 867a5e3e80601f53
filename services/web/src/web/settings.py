"""The web UI's settings (prefix `MICROBLOG_`), refusing a default session secret in production."""

from __future__ import annotations

import warnings
from typing import ClassVar

from pydantic import Field, model_validator

from microblog_shared.runtime.settings import Settings

DEFAULT_WEB_SECRET = "dev-web-secret-change-me-0123456789abcdef"


class WebSettings(Settings):
    uses_jwt_secret: ClassVar[bool] = False  # it carries the gateway's tokens, never verifies them
    uses_internal_secret: ClassVar[bool] = False  # it calls the public API only, never a service behind it
    gateway_url: str = "http://127.0.0.1:8000"
    web_secret_key: str = DEFAULT_WEB_SECRET
    # Shared with the gateway: it trusts our X-Forwarded-For (the browser's address) only with it.
    trusted_proxy_secret: str = ""
    posts_per_page: int = Field(default=25, ge=1, le=100)
    notification_poll_seconds: float = Field(default=10.0, gt=0)
    # How long a page trusts the session's unread badge learnt earlier instead of asking (0: always ask).
    badge_cache_seconds: float = Field(default=5.0, ge=0)
    # None: secure cookies exactly in production.
    secure_cookies: bool | None = None
    gateway_timeout_seconds: float = Field(default=15.0, gt=0)
    # Processes serving the pages on the one port (serve.py); each keeps its own caches.
    web_workers: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _refuse_default_web_secret_in_production(self) -> WebSettings:
        if self.web_secret_key == DEFAULT_WEB_SECRET:
            if self.environment == "production":
                raise ValueError("MICROBLOG_WEB_SECRET_KEY must be set to a real secret in production")
            if self.environment == "development":
                warnings.warn("using the default web secret key (fine for development only)", stacklevel=2)
        if self.secure_cookies is None:
            self.secure_cookies = self.environment == "production"
        return self
