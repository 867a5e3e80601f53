from datetime import UTC, datetime

import pytest

from messaging import domain
from microblog_shared.events import MessageSent, MessagesRead

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_message_is_sent_with_its_body_stripped():
    assert domain.send_message(7, 1, 2, "  see you tomorrow?\n", NOW) == MessageSent(
        message_id=7, sender_id=1, recipient_id=2, body="see you tomorrow?", sent_at=NOW
    )


@pytest.mark.parametrize(
    "body, reason",
    [
        ("", "a message needs a body"),
        ("   \n\t", "a message needs a body"),
        ("x" * 141, "a message has at most 140 characters"),
    ],
)
def test_empty_and_overlong_bodies_are_refused(body, reason):
    with pytest.raises(domain.InvalidMessage, match=reason):
        domain.send_message(7, 1, 2, body, NOW)


def test_140_characters_are_allowed_and_counted_after_stripping():
    assert domain.send_message(7, 1, 2, " " + "x" * 140 + " ", NOW).body == "x" * 140


def test_sending_yourself_a_message_is_refused():
    with pytest.raises(domain.InvalidMessage, match="yourself"):
        domain.send_message(7, 3, 3, "note to self", NOW)


def test_reading_an_inbox_with_unread_messages_marks_up_to_the_newest():
    assert domain.read_inbox(2, 9, NOW) == [MessagesRead(user_id=2, read_at=NOW, up_to_message_id=9)]


def test_reading_an_inbox_with_nothing_unread_changes_nothing():
    assert domain.read_inbox(2, None, NOW) == []


def test_an_inbox_is_one_stream_per_recipient():
    assert domain.inbox_stream(42) == "inbox-42"
