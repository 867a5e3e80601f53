"""Mail through a real SMTP server (aiosmtpd): what it received, retries with backoff, admin error mails."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from microblog_dev.mailsink import attachments, bodies
from microblog_shared.events import ExportCompleted, PasswordResetRequested
from notifier.mailer import MailerMonitor


def now() -> datetime:
    return datetime.now(UTC)


def reset_request(user_id: int, name: str, minutes: float = 10) -> PasswordResetRequested:
    return PasswordResetRequested(
        user_id=user_id,
        username=name,
        email=f"{name}@example.com",
        token=f"signed.token.{name}",
        expires_at=now() + timedelta(minutes=minutes),
    )


async def test_a_reset_request_mails_the_link_as_text_and_html(notifier, report):
    await notifier.emit("user-1", reset_request(1, "susan"))
    (mail,) = await notifier.mails(1)
    assert mail["Subject"] == "[Microblog] Reset Your Password"
    assert mail["To"] == "susan@example.com"
    assert mail["From"] == notifier.settings.mail_sender
    text, html = bodies(mail)
    link = "https://microblog.example/auth/reset_password/signed.token.susan"
    assert "Dear susan" in text and link in text
    assert f'href="{link}"' in html
    (sent,) = await notifier.delivered()
    assert (sent.status, sent.attempts) == ("sent", 1)
    latency = (sent.sent_at - sent.queued_at).total_seconds()
    report(f"notifier: reset mail queued -> handed to SMTP in {latency * 1000:.0f} ms")
    assert latency < 2


async def test_a_redelivered_or_expired_reset_never_mails_twice(notifier):
    request = await notifier.emit("user-1", reset_request(1, "susan"))
    await notifier.events.publish(request)
    await notifier.emit("user-2", reset_request(2, "john", minutes=-1))  # its link died already
    await notifier.settled()
    await notifier.mails(1)
    await asyncio.sleep(0.3)
    assert len(notifier.sink.messages()) == 1
    assert len(await notifier.outbox()) == 1


async def test_a_finished_export_is_mailed_with_the_posts_attached(notifier):
    await notifier.register(1, "susan")
    posts = [{"body": "hello", "timestamp": "2026-11-24T12:00:00Z"}]
    notifier.exports.files["t1"] = (1, posts)
    await notifier.emit("export-t1", ExportCompleted(task_id="t1", user_id=1, post_count=1, completed_at=now()))
    (mail,) = await notifier.mails(1)
    assert (mail["Subject"], mail["To"]) == ("[Microblog] Your blog posts", "susan@example.com")
    text, html = bodies(mail)
    assert "Dear susan" in text and "1 post" in html
    ((name, kind, content),) = attachments(mail)
    assert (name, kind, json.loads(content)) == ("posts.json", "application/json", {"posts": posts})
    (task,) = (await notifier.notifications(1)).json()
    assert task["data"] == {"task_id": "t1", "progress": 100}


async def test_an_export_still_being_written_is_retried_until_posts_serves_it(notifier):
    await notifier.register(1, "susan")
    notifier.exports.running.add("t1")
    notifier.exports.files["t1"] = (1, [])
    await notifier.emit("export-t1", ExportCompleted(task_id="t1", user_id=1, post_count=0, completed_at=now()))
    await notifier.settled()
    await asyncio.sleep(0.3)
    assert notifier.sink.messages() == []
    notifier.exports.running.clear()
    (mail,) = await notifier.mails(1)
    assert attachments(mail)[0][0] == "posts.json"
    (sent,) = await notifier.delivered()
    assert sent.attempts >= 2  # the first tries met a 409


async def test_mail_waits_out_an_smtp_outage_with_backoff_and_goes_out_when_it_is_back(notifier):
    await notifier.sink.stop()
    await notifier.emit("user-1", reset_request(1, "susan"))
    await notifier.settled()
    await asyncio.sleep(0.5)
    (waiting,) = await notifier.outbox()
    assert waiting.status == "queued" and waiting.attempts >= 2
    assert "SMTP" in waiting.last_error
    async with notifier.app.state.engine.connect() as conn:
        delay = await conn.scalar(text("SELECT extract(epoch FROM next_attempt_at - now()) FROM public.mail_outbox"))
    assert delay <= notifier.settings.mail_backoff_cap_seconds  # never longer than the cap

    await notifier.sink.start(port=notifier.settings.smtp_port)
    (mail,) = await notifier.mails(1)
    assert mail["To"] == "susan@example.com"
    (sent,) = await notifier.delivered()
    assert sent.status == "sent" and sent.last_error is None


async def test_a_mail_that_cannot_be_sent_is_kept_as_failed_and_shown_in_status(make_notifier):
    notifier = await make_notifier(mail_max_attempts=2)
    await notifier.sink.stop()
    await notifier.emit("user-1", reset_request(1, "susan"))
    for _ in range(100):
        (row,) = await notifier.outbox() or [None]
        if row is not None and row.status == "failed":
            break
        await asyncio.sleep(0.05)
    assert (row.status, row.attempts) == ("failed", 2)
    status = await MailerMonitor(notifier.app.state.engine).refresh()
    assert status["failed"] == 1 and status["queued"] == 0
    assert status["recent_failures"][0]["to"] == ["susan@example.com"]
    assert "SMTP" in status["recent_failures"][0]["error"]


async def test_a_gateway_500_is_mailed_to_the_admins_once_per_alike_error(notifier):
    report = {
        "method": "GET",
        "path": "/api/users/7/posts",
        "status": 500,
        "correlation_id": "cid-1",
        "error": "ZeroDivisionError: division by zero",
        "traceback": "Traceback ...\nZeroDivisionError",
    }
    first = await notifier.client.post("/errors", json=report)
    assert (first.status_code, first.json()) == (202, {"outcome": "queued"})
    again = await notifier.client.post("/errors", json={**report, "path": "/api/users/8/posts", "correlation_id": "c2"})
    assert again.json() == {"outcome": "repeat"}
    (mail,) = await notifier.mails(1)
    assert (mail["Subject"], mail["To"]) == ("Microblog Failure", "admin@example.com")
    text, html = bodies(mail)
    assert "GET /api/users/7/posts" in text and "cid-1" in text and "ZeroDivisionError" in html
    assert (await notifier.client.post("/errors", json={**report, "status": 200})).status_code == 400


async def test_an_error_storm_mails_the_admins_a_bounded_number_of_times(make_notifier):
    notifier = await make_notifier(error_mails_per_hour=3)
    outcomes = []
    for n in range(10):
        answer = await notifier.client.post(
            "/errors",
            json={
                "method": "POST",
                "path": "/api/posts",
                "status": 500,
                "error": f"RuntimeError: broken thing {'x' * n}",
            },
        )
        outcomes.append(answer.json()["outcome"])
    assert outcomes == ["queued"] * 3 + ["limited"] * 7
    await notifier.mails(3)
