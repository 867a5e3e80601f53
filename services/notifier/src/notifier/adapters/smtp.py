"""Sending one message to the configured SMTP server (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from notifier.delivery import PermanentFailure
from notifier.settings import NotifierSettings


class SmtpServer:
    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Hand the message over; PermanentFailure when the server refuses it for good (5xx)."""
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_tls,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"every recipient was refused: {exc}") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600 and exc.code != 530:  # 530: authentication required (a config fix helps)
                raise PermanentFailure(f"the server refused the mail: {exc.code} {exc.message}") from None
            raise
