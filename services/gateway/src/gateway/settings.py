from pydantic import Field

from microblog_shared.runtime.settings import Settings


class GatewaySettings(Settings):
    identity_url: str = "http://127.0.0.1:8101"
    posts_url: str = "http://127.0.0.1:8102"
    timeline_url: str = "http://127.0.0.1:8103"
    social_graph_url: str = "http://127.0.0.1:8104"
    messaging_url: str = "http://127.0.0.1:8105"
    notifier_url: str = "http://127.0.0.1:8106"
    search_indexer_url: str = "http://127.0.0.1:8107"
    backend_timeout_seconds: float = 10.0
    # Login, token refresh and registration attempts per client address and minute.
    auth_attempts_per_minute: int = Field(default=30, ge=1)
    # Every POST, PUT, PATCH and DELETE under /api, per account (a valid bearer token's user) and
    # per client address, in fixed windows of write_window_seconds (see gateway.writelimits).
    writes_per_account: int = Field(default=300, ge=1)
    writes_per_address: int = Field(default=600, ge=1)
    write_window_seconds: float = Field(default=300.0, gt=0)
    # Password changes, and profile changes carrying a password, per account and per address and minute.
    password_attempts_per_minute: int = Field(default=5, ge=1)
    password_attempts_per_minute_per_address: int = Field(default=30, ge=1)
    # Shared with the web UI, which calls on behalf of browsers: a request carrying it in
    # X-Microblog-Proxy-Secret is keyed by its X-Forwarded-For. Empty: trust no proxy.
    trusted_proxy_secret: str = ""
    # How often a user's activity is reported to identity as last_seen.
    last_seen_interval_seconds: float = Field(default=60.0, ge=0)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Microsoft Translator (v3): without a key, POST /api/translate answers 503.
    translator_key: str = ""
    translator_region: str = ""
    translator_endpoint: str = "https://api.cognitive.microsofttranslator.com"
