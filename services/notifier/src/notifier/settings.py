"""The notifier's settings: the shared ones, where mail goes, and how hard to try."""

from __future__ import annotations

from pydantic import Field

from microblog_shared.runtime.settings import Settings
from notifier.delivery import RetryPolicy


class NotifierSettings(Settings):
    service_name: str = "notifier"
    # Links in mails point at the web UI.
    public_url: str = "http://127.0.0.1:5000"
    # Posts' internal API serves finished exports to attach.
    posts_url: str = "http://127.0.0.1:8102"
    posts_timeout_seconds: float = Field(default=10.0, gt=0)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False  # upgrade a plain connection (the original's MAIL_USE_TLS)
    smtp_tls: bool = False  # connect over TLS from the start (port 465)
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    mail_sender: str = "Microblog <no-reply@microblog.example>"
    # Who gets "Microblog Failure" mails (comma-separated); none: errors are only logged.
    admins: str = ""

    mail_max_attempts: int = Field(default=8, ge=1)
    mail_backoff_seconds: float = Field(default=2.0, gt=0)
    mail_backoff_cap_seconds: float = Field(default=600.0, gt=0)
    mailer_concurrency: int = Field(default=2, ge=1, le=32)
    # One admin mail per alike error in this window, and at most this many an hour in all.
    error_mail_window_seconds: int = Field(default=600, ge=1)
    error_mails_per_hour: int = Field(default=30, ge=1)

    @property
    def admin_addresses(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.admins.split(",") if a.strip())

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.mail_backoff_seconds, self.mail_backoff_cap_seconds, self.mail_max_attempts)
