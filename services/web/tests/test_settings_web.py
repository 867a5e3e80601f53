"""The web's settings in production: its own secret is required, the JWT and internal secrets are not
its business (it calls the public API only)."""

import pytest
from pydantic import ValidationError

from web.settings import WebSettings


def test_production_needs_a_real_web_secret_but_no_jwt_or_internal_secret(monkeypatch):
    monkeypatch.delenv("MICROBLOG_JWT_SECRET", raising=False)
    monkeypatch.delenv("MICROBLOG_INTERNAL_SECRET", raising=False)
    with pytest.raises(ValidationError, match="MICROBLOG_WEB_SECRET_KEY"):
        WebSettings(environment="production")
    settings = WebSettings(environment="production", web_secret_key="a real secret of enough length")
    assert settings.secure_cookies is True
