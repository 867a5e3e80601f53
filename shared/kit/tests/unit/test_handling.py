"""The one command step and conflict policy, over the in-memory event store."""

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from microblog_shared.events import PostCreated, PostEdited
from microblog_shared.runtime import context
from microblog_shared.write.handling import ATTEMPTS, CONTENDED, execute, wrap
from microblog_shared.write.port import ConcurrencyError
from microblog_testkit.fakes import InMemoryEventStore

NOW = datetime(2026, 11, 24, tzinfo=UTC)
CREATED = PostCreated(post_id=1, author_id=2, body="hi", language="en", created_at=NOW)


def edit(body: str) -> PostEdited:
    return PostEdited(post_id=1, author_id=2, body=body, language="en", edited_at=NOW)


def conflicts() -> float:
    return REGISTRY.get_sample_value("microblog_append_conflicts_total", {"service": "kit-test"}) or 0.0


def bodies(store: InMemoryEventStore) -> list[str]:
    return [e.payload["body"] for e in store.streams["post-1"]]


def someone_edits(store: InMemoryEventStore) -> None:
    store.append_now("post-1", len(store.streams["post-1"]), [edit("theirs")])


def test_an_event_is_wrapped_under_its_class_name_with_the_request_s_correlation():
    token = context.correlation_id.set("req-1")
    try:
        envelope = wrap(CREATED, "post-1", 3, "posts")
    finally:
        context.correlation_id.reset(token)
    assert (envelope.type, envelope.schema_version, envelope.stream_version) == ("PostCreated", 2, 3)
    assert (envelope.producer, envelope.correlation_id) == ("posts", "req-1")
    assert envelope.payload["created_at"] == "2026-11-24T00:00:00Z"


async def test_a_step_folds_the_stream_decides_and_appends_at_its_version():
    store = InMemoryEventStore("kit-test")
    store.append_now("post-1", 0, [CREATED])
    outcome = await execute(store, "post-1", list, lambda history: [edit(f"after {len(history)}")])
    assert [type(e).__name__ for e in outcome.state] == ["PostCreated"]
    assert outcome.last_event is not None and outcome.last_event.stream_version == 2
    assert bodies(store) == ["hi", "after 1"]


async def test_nothing_decided_appends_nothing_and_names_the_stream_s_last_event():
    store = InMemoryEventStore("kit-test")
    (created,) = store.append_now("post-1", 0, [CREATED])
    outcome = await execute(store, "post-1", list, lambda history: [])
    assert outcome.last_event == created and len(store.streams["post-1"]) == 1


async def test_a_lost_race_is_decided_again_on_the_new_state_and_counted():
    store, before = InMemoryEventStore("kit-test"), conflicts()
    store.append_now("post-1", 0, [CREATED])
    store.before_next_appends.append(someone_edits)
    await execute(store, "post-1", list, lambda history: [edit(f"mine after {len(history)}")])
    assert bodies(store) == ["hi", "theirs", "mine after 2"]
    assert conflicts() == before + 1


@pytest.mark.parametrize("attempts", [ATTEMPTS, CONTENDED])
async def test_the_last_allowed_lost_race_surfaces(attempts):
    store, before = InMemoryEventStore("kit-test"), conflicts()
    store.append_now("post-1", 0, [CREATED])
    store.before_next_appends += [someone_edits] * attempts
    with pytest.raises(ConcurrencyError):
        await execute(store, "post-1", list, lambda history: [edit("mine")], attempts=attempts)
    assert "mine" not in bodies(store) and conflicts() == before + attempts
