from datetime import UTC, datetime

import pytest

from microblog_shared.events import Envelope, EventRegistry, PostCreated, UnknownEventType, registry, uuid7
from microblog_shared.events.contracts import Event


def test_uuid7_is_version_7_and_time_ordered():
    first, second = uuid7(), uuid7()
    assert first.version == 7 and second.version == 7
    assert first.int >> 80 <= second.int >> 80


def test_envelope_round_trips_through_bytes():
    envelope = Envelope(
        type="PostCreated",
        stream_id="post-1",
        stream_version=1,
        producer="posts",
        payload={"post_id": 1, "author_id": 2, "body": "hi", "created_at": "2026-01-01T00:00:00Z"},
    )
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


def test_registry_decodes_a_payload_into_its_contract():
    envelope = Envelope(
        type="PostCreated",
        schema_version=2,
        stream_id="post-1",
        stream_version=1,
        producer="posts",
        payload={"post_id": 1, "author_id": 2, "body": "hi", "language": "en", "created_at": "2026-01-01T00:00:00Z"},
    )
    event = registry.decode(envelope)
    assert isinstance(event, PostCreated)
    assert event.created_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert event.language == "en"


def test_post_created_v1_is_upcast_with_an_unknown_language():
    v1 = Envelope(
        type="PostCreated",
        schema_version=1,
        stream_id="post-1",
        stream_version=1,
        producer="posts",
        payload={"post_id": 1, "author_id": 2, "body": "hi", "created_at": "2026-01-01T00:00:00Z"},
    )
    assert registry.decode(v1).language == ""


def test_every_public_contract_has_a_topic_and_private_ones_none():
    assert registry.topics() == {
        "identity.users",
        "identity.sessions",
        "identity.password-resets",
        "identity.email-changes",
        "social.follows",
        "posts.posts",
        "messaging.messages",
        "posts.exports",
    }
    assert registry.contract("PasswordSet").topic is None


def test_unknown_types_are_refused_by_name():
    with pytest.raises(UnknownEventType):
        registry.contract("NoSuchThing")


def test_old_payloads_are_upcast_step_by_step():
    local = EventRegistry()

    class Renamed(Event):
        type_name = "Renamed"
        schema_version = 3
        topic = "t"
        full_name: str
        nickname: str

    local.register(Renamed)

    @local.upcaster("Renamed", 1)
    def name_to_full_name(payload):
        return {"full_name": payload["name"]}

    @local.upcaster("Renamed", 2)
    def add_nickname(payload):
        return {**payload, "nickname": ""}

    old = Envelope(
        type="Renamed", schema_version=1, stream_id="s", stream_version=1, producer="p", payload={"name": "Ada"}
    )
    assert local.decode(old) == Renamed(full_name="Ada", nickname="")
