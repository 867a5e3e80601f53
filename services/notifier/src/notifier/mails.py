"""What the platform's mails say: plain data in, a Mail (text and HTML) out. No I/O here.

The wording follows the original app's mails ("[Microblog] Reset Your Password",
"[Microblog] Your blog posts", "Microblog Failure" to the admins).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from html import escape

RESET_SUBJECT = "[Microblog] Reset Your Password"
EXPORT_SUBJECT = "[Microblog] Your blog posts"
CONFIRM_EMAIL_SUBJECT = "[Microblog] Confirm Your New Email Address"
EMAIL_CHANGE_NOTICE_SUBJECT = "[Microblog] Your Email Address Is Being Changed"
FAILURE_SUBJECT = "Microblog Failure"
EXPORT_FILENAME = "posts.json"


@dataclass(frozen=True)
class Attachment:
    """A file fetched when the mail is sent (it may be large: the queue keeps only where it is)."""

    kind: str  # "posts_export"
    task_id: str
    user_id: int


@dataclass(frozen=True)
class Mail:
    kind: str  # password_reset, email_confirmation, email_change_notice, posts_export, admin_error
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    attachment: Attachment | None = None
    to_user_id: int | None = None  # whose address to look up when `to` is still unknown


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def password_reset_mail(username: str, email: str, token: str, expires_at: datetime, public_url: str) -> Mail:
    link = f"{public_url.rstrip('/')}/auth/reset_password/{token}"
    text = (
        f"Dear {username},\n\n"
        "To reset your password click on the following link:\n\n"
        f"{link}\n\n"
        f"The link works once, until {_when(expires_at)}.\n\n"
        "If you have not requested a password reset simply ignore this message.\n\n"
        "Sincerely,\n\nThe Microblog Team\n"
    )
    html = (
        f"<p>Dear {escape(username)},</p>"
        f'<p>To reset your password <a href="{escape(link)}">click here</a>.</p>'
        "<p>Alternatively, you can paste the following link in your browser's address bar:</p>"
        f"<p>{escape(link)}</p>"
        f"<p>The link works once, until {_when(expires_at)}.</p>"
        "<p>If you have not requested a password reset simply ignore this message.</p>"
        "<p>Sincerely,</p><p>The Microblog Team</p>"
    )
    return Mail("password_reset", (email,), RESET_SUBJECT, text, html)


def email_confirmation_mail(username: str, new_email: str, token: str, expires_at: datetime, public_url: str) -> Mail:
    """To the new address: the link that applies the change (nothing changes until it is used)."""
    link = f"{public_url.rstrip('/')}/confirm_email/{token}"
    text = (
        f"Dear {username},\n\n"
        "To make this your Microblog account's email address, click on the following link:\n\n"
        f"{link}\n\n"
        f"The link works once, until {_when(expires_at)}.\n\n"
        "If you have not asked for this, simply ignore this message: nothing changes.\n\n"
        "Sincerely,\n\nThe Microblog Team\n"
    )
    html = (
        f"<p>Dear {escape(username)},</p>"
        f'<p>To make this your Microblog account\'s email address <a href="{escape(link)}">click here</a>.</p>'
        "<p>Alternatively, you can paste the following link in your browser's address bar:</p>"
        f"<p>{escape(link)}</p>"
        f"<p>The link works once, until {_when(expires_at)}.</p>"
        "<p>If you have not asked for this, simply ignore this message: nothing changes.</p>"
        "<p>Sincerely,</p><p>The Microblog Team</p>"
    )
    return Mail("email_confirmation", (new_email,), CONFIRM_EMAIL_SUBJECT, text, html)


def email_change_notice_mail(username: str, old_email: str, new_email: str, public_url: str) -> Mail:
    """To the old address: a change was asked for, and what to do if it wasn't them."""
    reset = f"{public_url.rstrip('/')}/auth/reset_password_request"
    text = (
        f"Dear {username},\n\n"
        f"Someone signed in to your Microblog account asked to change its email address to {new_email}.\n"
        "The change happens only if the link mailed to that address is used.\n\n"
        "If this was not you, reset your password now, so that your current password stops working:\n\n"
        f"{reset}\n\n"
        "Sincerely,\n\nThe Microblog Team\n"
    )
    html = (
        f"<p>Dear {escape(username)},</p>"
        f"<p>Someone signed in to your Microblog account asked to change its email address to "
        f"<b>{escape(new_email)}</b>. The change happens only if the link mailed to that address is used.</p>"
        f'<p>If this was not you, <a href="{escape(reset)}">reset your password now</a>, '
        "so that your current password stops working.</p>"
        "<p>Sincerely,</p><p>The Microblog Team</p>"
    )
    return Mail("email_change_notice", (old_email,), EMAIL_CHANGE_NOTICE_SUBJECT, text, html)


def posts_export_mail(username: str, email: str | None, user_id: int, task_id: str, post_count: int) -> Mail:
    posts = "1 post" if post_count == 1 else f"{post_count} posts"
    text = (
        f"Dear {username or 'microblogger'},\n\n"
        f"Please find attached the archive of your posts that you requested ({posts}).\n\n"
        "Sincerely,\n\nThe Microblog Team\n"
    )
    html = (
        f"<p>Dear {escape(username or 'microblogger')},</p>"
        f"<p>Please find attached the archive of your posts that you requested ({posts}).</p>"
        "<p>Sincerely,</p><p>The Microblog Team</p>"
    )
    return Mail(
        "posts_export",
        (email,) if email else (),
        EXPORT_SUBJECT,
        text,
        html,
        attachment=Attachment("posts_export", task_id, user_id),
        to_user_id=user_id,
    )


@dataclass(frozen=True)
class ErrorReport:
    """A 500 the gateway answered: its own crash, or a backend's 500 it relayed."""

    service: str
    method: str
    path: str
    status: int
    correlation_id: str
    error: str  # the exception's type and message, or what the backend said
    traceback: str = ""

    def fingerprint(self) -> str:
        """Alike errors share one: same route and error, whatever the ids in the path or message."""
        route = re.sub(r"/[0-9]+(?=/|$)", "/{id}", self.path)
        first_line = re.sub(r"[0-9]+", "#", self.error.splitlines()[0]) if self.error.strip() else ""
        raw = f"{self.service} {self.method} {route} {self.status} {first_line}"
        return hashlib.sha256(raw.encode()).hexdigest()[:24]


def admin_error_mail(report: ErrorReport, admins: tuple[str, ...]) -> Mail:
    text = (
        f"{report.service} answered {report.status} to {report.method} {report.path}\n"
        f"correlation id: {report.correlation_id}\n\n{report.error}\n\n{report.traceback}"
    )
    html = (
        f"<p><b>{escape(report.service)}</b> answered {report.status} to "
        f"<code>{escape(report.method)} {escape(report.path)}</code></p>"
        f"<p>correlation id: <code>{escape(report.correlation_id)}</code></p>"
        f"<pre>{escape(report.error)}\n\n{escape(report.traceback)}</pre>"
    )
    return Mail("admin_error", admins, FAILURE_SUBJECT, text, html)


def email_message(mail: Mail, sender: str, attachment: bytes | None = None) -> EmailMessage:
    """The MIME message: text, its HTML alternative, and the attachment's bytes if any."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="json", filename=EXPORT_FILENAME)
    return message
