"""Follow handlers over the in-memory event store and a fake directory: no database, no identity."""

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from microblog_shared.events import UserFollowed, UserUnfollowed
from microblog_shared.write.port import ConcurrencyError
from microblog_testkit.fakes import InMemoryEventStore
from social_graph import domain, handlers

SUSAN, JOHN = 1, 2
NOW = datetime(2026, 11, 24, tzinfo=UTC)
EDGE = f"follow-{SUSAN}-{JOHN}"


class Directory:
    def __init__(self, *known: int) -> None:
        self.known, self.asked = set(known), []

    async def exists(self, user_id: int) -> bool:
        self.asked.append(user_id)
        return user_id in self.known


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore(producer="social-graph")


def conflicts() -> float:
    return REGISTRY.get_sample_value("microblog_append_conflicts_total", {"service": "social-graph"}) or 0.0


def racer(event_type):
    def race(store):
        version = len(store.streams.get(EDGE, []))
        fields = {"followed_at": NOW} if event_type is UserFollowed else {"unfollowed_at": NOW}
        store.append_now(EDGE, version, [event_type(follower_id=SUSAN, followee_id=JOHN, **fields)])

    return race


async def test_a_follow_starts_the_edge_stream_with_one_user_followed(store):
    last = await handlers.follow_user(store, Directory(JOHN), SUSAN, JOHN)
    assert (last.type, last.stream_id, last.stream_version, last.producer) == ("UserFollowed", EDGE, 1, "social-graph")
    assert last.payload["follower_id"] == SUSAN and last.payload["followee_id"] == JOHN


async def test_following_twice_appends_nothing_and_names_the_edge_s_last_event(store):
    first = await handlers.follow_user(store, Directory(JOHN), SUSAN, JOHN)
    again = await handlers.follow_user(store, Directory(JOHN), SUSAN, JOHN)
    assert again == first and len(store.streams[EDGE]) == 1


async def test_unfollowing_appends_after_the_follow_and_unfollowing_a_stranger_appends_nothing(store):
    assert await handlers.unfollow_user(store, Directory(JOHN), SUSAN, JOHN) is None
    await handlers.follow_user(store, Directory(JOHN), SUSAN, JOHN)
    last = await handlers.unfollow_user(store, Directory(JOHN), SUSAN, JOHN)
    assert [e.type for e in store.streams[EDGE]] == ["UserFollowed", "UserUnfollowed"]
    assert last.stream_version == 2


async def test_following_an_unknown_user_or_yourself_is_refused_before_any_append(store):
    directory = Directory()
    with pytest.raises(domain.UnknownUser):
        await handlers.follow_user(store, directory, SUSAN, JOHN)
    with pytest.raises(domain.CannotFollowYourself):
        await handlers.follow_user(store, directory, SUSAN, SUSAN)
    assert store.streams == {} and directory.asked == [JOHN]  # yourself: refused without asking identity


async def test_a_follow_that_lost_the_race_to_another_follow_succeeds_without_a_second_event(store):
    before = conflicts()
    store.before_next_appends.append(racer(UserFollowed))
    last = await handlers.follow_user(store, Directory(JOHN), SUSAN, JOHN)
    assert [e.type for e in store.streams[EDGE]] == ["UserFollowed"] and last.stream_version == 1
    assert conflicts() == before + 1


def follows_and_unfollows(store):
    racer(UserFollowed)(store)
    racer(UserUnfollowed)(store)


async def test_a_contended_edge_is_decided_again_up_to_ten_times(store):
    store.before_next_appends += [follows_and_unfollows] * 9  # each leaves the edge to follow again
    last = await handlers.follow_user(store, Directory(JOHN), SUSAN, JOHN)
    assert (last.type, last.stream_version) == ("UserFollowed", 19)


async def test_the_tenth_lost_race_surfaces(store):
    store.before_next_appends += [follows_and_unfollows] * 10
    with pytest.raises(ConcurrencyError):
        await handlers.follow_user(store, Directory(JOHN), SUSAN, JOHN)
    assert len(store.streams[EDGE]) == 20
