"""An email change asked for: the new address gets the confirmation link, the old one a notice (real SMTP, both buses)."""

import asyncio
from datetime import UTC, datetime, timedelta

from microblog_dev.mailsink import bodies
from microblog_shared.events import EmailChangeRequested


def change_request(minutes: float = 60 * 24) -> EmailChangeRequested:
    return EmailChangeRequested(
        user_id=1,
        username="susan",
        old_email="susan@example.com",
        new_email="new@example.com",
        token="signed.token.change",
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
    )


async def test_the_new_address_gets_the_link_and_the_old_one_a_notice(notifier):
    await notifier.emit("user-1", change_request())
    mails = {mail["To"]: mail for mail in await notifier.mails(2)}
    assert set(mails) == {"new@example.com", "susan@example.com"}
    confirm, notice = mails["new@example.com"], mails["susan@example.com"]
    assert confirm["Subject"] == "[Microblog] Confirm Your New Email Address"
    link = "https://microblog.example/confirm_email/signed.token.change"
    text, html = bodies(confirm)
    assert "Dear susan" in text and link in text and f'href="{link}"' in html
    assert notice["Subject"] == "[Microblog] Your Email Address Is Being Changed"
    text, html = bodies(notice)
    assert "new@example.com" in text and "signed.token.change" not in text + html  # the link never goes there
    assert "https://microblog.example/auth/reset_password_request" in text
    assert sorted(m.status for m in await notifier.delivered()) == ["sent", "sent"]


async def test_a_redelivered_or_expired_change_request_never_mails_again(notifier):
    request = await notifier.emit("user-1", change_request())
    await notifier.events.publish(request)
    await notifier.emit("user-2", change_request(minutes=-1).model_copy(update={"user_id": 2}))
    await notifier.settled()
    await notifier.mails(2)
    await asyncio.sleep(0.3)
    assert len(notifier.sink.messages()) == 2
    assert len(await notifier.outbox()) == 2
