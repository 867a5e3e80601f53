"""What mails say, when to retry, which errors are alike: no I/O."""

from datetime import UTC, datetime

from notifier.delivery import RetryPolicy
from notifier.mails import ErrorReport, email_message, password_reset_mail, posts_export_mail


def test_retries_back_off_exponentially_up_to_a_cap_and_give_up_after_the_last_attempt():
    policy = RetryPolicy(base_seconds=2, cap_seconds=60, max_attempts=5)
    assert [policy.delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert not policy.gives_up(4) and policy.gives_up(5)
    assert policy.gives_up(1, permanent=True)


def test_the_reset_mail_links_to_the_web_ui_and_escapes_the_username_in_html():
    mail = password_reset_mail(
        "<b>sue</b>", "sue@example.com", "tok.en", datetime(2026, 1, 1, tzinfo=UTC), "https://microblog.example/"
    )
    assert "https://microblog.example/auth/reset_password/tok.en" in mail.text
    assert "<b>sue</b>" not in mail.html and "&lt;b&gt;sue&lt;/b&gt;" in mail.html
    assert "2026-01-01 00:00 UTC" in mail.text


def test_the_export_mail_carries_posts_json_as_an_attachment():
    mail = posts_export_mail("sue", "sue@example.com", 1, "t1", 2)
    message = email_message(mail, "Microblog <m@example.com>", b'{"posts": []}')
    assert message.get_content_type() == "multipart/mixed"
    (attached,) = list(message.iter_attachments())
    assert (attached.get_filename(), attached.get_content_type()) == ("posts.json", "application/json")
    assert message.get_body(("html",)) is not None and "2 posts" in mail.text


def test_errors_on_the_same_route_with_other_ids_are_alike():
    def report(path: str, error: str) -> ErrorReport:
        return ErrorReport("gateway", "GET", path, 500, "c", error)

    assert (
        report("/api/users/1/posts", "KeyError: 12").fingerprint()
        == report("/api/users/99/posts", "KeyError: 7").fingerprint()
    )
    assert (
        report("/api/users/1/posts", "KeyError: 1").fingerprint()
        != report("/api/users/1/posts", "ValueError: 1").fingerprint()
    )
