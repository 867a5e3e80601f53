from microblog_shared.settings import Settings


class GatewaySettings(Settings):
    identity_url: str = "http://127.0.0.1:8101"
    posts_url: str = "http://127.0.0.1:8102"
    timeline_url: str = "http://127.0.0.1:8103"
    backend_timeout_seconds: float = 10.0
