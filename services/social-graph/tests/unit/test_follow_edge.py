from datetime import UTC, datetime

import pytest

from microblog_shared.events import UserFollowed, UserUnfollowed
from social_graph.domain import CannotFollowYourself, FollowEdge, fold, follow, stream_id, unfollow

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def test_following_records_who_follows_whom_and_when():
    assert follow(FollowEdge(), 1, 2, NOW) == [UserFollowed(follower_id=1, followee_id=2, followed_at=NOW)]


def test_following_twice_changes_nothing():
    edge = fold(follow(FollowEdge(), 1, 2, NOW))
    assert edge == FollowEdge(following=True, version=1)
    assert follow(edge, 1, 2, NOW) == []


@pytest.mark.parametrize("decide", [follow, unfollow])
def test_nobody_follows_or_unfollows_themself(decide):
    with pytest.raises(CannotFollowYourself):
        decide(FollowEdge(), 3, 3, NOW)


def test_following_yourself_is_refused_even_if_the_stream_says_otherwise():
    with pytest.raises(CannotFollowYourself, match="you cannot follow yourself"):
        follow(FollowEdge(following=True, version=1), 3, 3, NOW)


def test_unfollowing_records_the_end_of_the_edge():
    edge = fold(follow(FollowEdge(), 1, 2, NOW))
    assert unfollow(edge, 1, 2, NOW) == [UserUnfollowed(follower_id=1, followee_id=2, unfollowed_at=NOW)]


def test_unfollowing_someone_not_followed_changes_nothing():
    assert unfollow(FollowEdge(), 1, 2, NOW) == []


def test_following_again_after_unfollowing_is_the_third_event():
    edge = fold(follow(FollowEdge(), 1, 2, NOW))
    edge = fold(unfollow(edge, 1, 2, NOW), edge)
    assert edge == FollowEdge(following=False, version=2)
    again = follow(edge, 1, 2, NOW)
    assert len(again) == 1
    assert fold(again, edge) == FollowEdge(following=True, version=3)


def test_one_stream_per_ordered_pair():
    assert stream_id(1, 2) == "follow-1-2"
    assert stream_id(2, 1) != stream_id(1, 2)
