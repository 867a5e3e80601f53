"""A local SMTP server that keeps every mail it receives: the mail port's embedded default.

`microblog dev` runs one in its own process (its mails land in `<data dir>/mail`, a Maildir, and
each gets one line in the dev log); tests run one to read what a sender really sent.
"""

from __future__ import annotations

import asyncio
import mailbox
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import cast

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP


class MailSink(Mailbox):
    """An aiosmtpd Maildir handler whose server runs on the caller's event loop."""

    def __init__(self, mail_dir: Path, on_mail: Callable[[EmailMessage], None] | None = None) -> None:
        mail_dir.parent.mkdir(parents=True, exist_ok=True)  # Maildir makes its own folders
        super().__init__(mail_dir)
        self.on_mail = on_mail
        self.server: asyncio.Server | None = None
        self.port = 0

    def handle_message(self, message) -> None:
        super().handle_message(message)
        if self.on_mail is not None:
            self.on_mail(message_from_bytes(message.as_bytes(), policy=default))

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on `host:port` (0: any free port); returns the port."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self, hostname="microblog-mail-sink", loop=loop), host, port
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    def messages(self) -> list[EmailMessage]:
        return read_maildir(Path(self.mail_dir))


def read_maildir(mail_dir: Path) -> list[EmailMessage]:
    """Every mail in a sink's Maildir, oldest first."""
    if not mail_dir.exists():
        return []
    box = mailbox.Maildir(mail_dir, create=False)
    keys = sorted(box.keys(), key=lambda key: (box.get_message(key).get_date(), key))
    return [message_from_bytes(box.get_bytes(key), policy=default) for key in keys]


def one_line(message: EmailMessage) -> str:
    """How the dev log shows a received mail."""
    attachments = [part.get_filename() for part in message.iter_attachments()]
    extra = f" [{', '.join(a for a in attachments if a)}]" if attachments else ""
    return f"mail to {message['To']}: {message['Subject']}{extra}"


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of a mail ("" for a part it lacks)."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    return (text.get_content() if text else "", html.get_content() if html else "")


def attachments(message: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    """(file name, content type, bytes) of each attachment."""
    return [
        (part.get_filename(), part.get_content_type(), cast(bytes, part.get_payload(decode=True)))
        for part in message.iter_attachments()
    ]
