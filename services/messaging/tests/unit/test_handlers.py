"""Messaging's handlers over the in-memory event store and a fake directory: no database, no identity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from messaging import domain, handlers
from microblog_shared.events import MessageSent, MessagesRead, registry
from microblog_shared.write.port import ConcurrencyError
from microblog_testkit.fakes import InMemoryEventStore

SUSAN, JOHN, MARY = 1, 2, 3
NOW = datetime(2026, 11, 25, tzinfo=UTC)


class Directory:
    def __init__(self) -> None:
        self.ids = {SUSAN: "susan", JOHN: "john", MARY: "mary"}
        self.asked: list[int] = []

    async def username_of(self, user_id: int) -> str | None:
        self.asked.append(user_id)
        return self.ids.get(user_id)


class InMemoryMessagingStore(InMemoryEventStore):
    """`handlers.MessagingStore` in memory: the newest unread message folded from the inbox stream."""

    async def newest_unread(self, user_id: int) -> int | None:
        unread: set[int] = set()
        for event in map(registry.decode, self.streams.get(domain.inbox_stream(user_id), [])):
            if isinstance(event, MessageSent):
                unread.add(event.message_id)
            elif isinstance(event, MessagesRead):
                unread = {m for m in unread if m > event.up_to_message_id}
        return max(unread, default=None)


@pytest.fixture
def store() -> InMemoryMessagingStore:
    return InMemoryMessagingStore(producer="messaging")


def mary_writes(store):
    version = len(store.streams.get("inbox-2", []))
    store.append_now("inbox-2", version, [domain.send_message(99, MARY, JOHN, "me first", NOW)])


async def test_a_message_lands_on_the_recipient_s_inbox_with_both_names(store):
    sent = await handlers.send_message(store, Directory(), SUSAN, JOHN, "  hello john ")
    assert (sent.sender_name, sent.recipient_name, sent.message.body) == ("susan", "john", "hello john")
    assert (sent.last_event.type, sent.last_event.stream_id, sent.last_event.stream_version) == (
        "MessageSent",
        "inbox-2",
        1,
    )
    assert sent.last_event.payload["message_id"] == sent.message.message_id == 1


async def test_bad_messages_are_refused_before_identity_is_asked(store):
    directory = Directory()
    with pytest.raises(domain.InvalidMessage):
        await handlers.send_message(store, directory, SUSAN, SUSAN, "to me")
    with pytest.raises(domain.InvalidMessage):
        await handlers.send_message(store, directory, SUSAN, JOHN, "   ")
    with pytest.raises(domain.UnknownUser):
        await handlers.send_message(store, directory, SUSAN, 42, "anyone?")
    assert store.streams == {} and directory.asked == [42]


async def test_a_message_racing_another_sender_is_appended_after_it(store):
    store.before_next_appends.append(mary_writes)
    sent = await handlers.send_message(store, Directory(), SUSAN, JOHN, "hello")
    assert [e.payload["body"] for e in store.streams["inbox-2"]] == ["me first", "hello"]
    assert sent.last_event.stream_version == 2


async def test_an_inbox_lost_ten_times_in_a_row_surfaces(store):
    store.before_next_appends += [mary_writes] * 10
    with pytest.raises(ConcurrencyError):
        await handlers.send_message(store, Directory(), SUSAN, JOHN, "hello")
    assert all(e.payload["sender_id"] == MARY for e in store.streams["inbox-2"])


async def test_reading_the_inbox_marks_up_to_the_newest_message_once(store):
    await handlers.send_message(store, Directory(), SUSAN, JOHN, "one")
    await handlers.send_message(store, Directory(), MARY, JOHN, "two")
    read = await handlers.read_inbox(store, JOHN)
    assert (read.type, read.stream_version, read.payload["up_to_message_id"]) == ("MessagesRead", 3, 2)
    assert await handlers.read_inbox(store, JOHN) is None
    assert await handlers.read_inbox(store, SUSAN) is None
