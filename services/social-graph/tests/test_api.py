import pytest
from sqlalchemy import text

from microblog_shared.write.eventstore import EventStore
from social_graph.app import create_app
from social_graph.settings import SocialGraphSettings


def as_user(user_id: int, **headers) -> dict:
    return {"X-User-Id": str(user_id), **headers}


async def events_of(client, stream_id: str):
    return await EventStore(client.app.state.engine, "social-graph").read_stream(stream_id)


async def edge_rows(client) -> list[tuple[int, int]]:
    async with client.app.state.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text("SELECT follower_id, followee_id FROM edges"))]


@pytest.fixture
async def susan_and_john(register):
    return await register("susan"), await register("john")


async def test_following_answers_204_with_the_edge_s_consistency_token(social_graph, susan_and_john):
    susan, john = susan_and_john
    response = await social_graph.post(f"/users/{john}/follow", headers=as_user(susan))
    assert response.status_code == 204
    assert response.headers["X-Consistency-Token"] == f"social.follows:follow-{susan}-{john}:1"
    assert (await social_graph.get(f"/users/{susan}/following/{john}")).json() == {"following": True}
    assert (await social_graph.get(f"/users/{john}/following/{susan}")).json() == {"following": False}
    assert await edge_rows(social_graph) == [(susan, john)]


async def test_following_twice_appends_nothing_and_answers_the_same_token(social_graph, susan_and_john):
    susan, john = susan_and_john
    first = await social_graph.post(f"/users/{john}/follow", headers=as_user(susan))
    second = await social_graph.post(f"/users/{john}/follow", headers=as_user(susan))
    assert second.status_code == 204
    assert second.headers["X-Consistency-Token"] == first.headers["X-Consistency-Token"]
    assert [e.type for e in await events_of(social_graph, f"follow-{susan}-{john}")] == ["UserFollowed"]


async def test_the_events_carry_the_request_s_correlation_id(social_graph, susan_and_john):
    susan, john = susan_and_john
    await social_graph.post(f"/users/{john}/follow", headers=as_user(susan, **{"X-Correlation-ID": "req-follow"}))
    (event,) = await events_of(social_graph, f"follow-{susan}-{john}")
    assert (event.correlation_id, event.producer) == ("req-follow", "social-graph")
    assert (event.payload["follower_id"], event.payload["followee_id"]) == (susan, john)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_an_unknown_user_is_404_and_changes_nothing(social_graph, register, method):
    susan = await register("susan")
    response = await social_graph.request(method, "/users/999/follow", headers=as_user(susan))
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "message": "user 999 not found"}
    assert await EventStore(social_graph.app.state.engine, "social-graph").read_all() == []


async def test_following_yourself_is_a_400(social_graph, register):
    susan = await register("susan")
    response = await social_graph.post(f"/users/{susan}/follow", headers=as_user(susan))
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "message": "you cannot follow yourself"}
    unfollow = await social_graph.delete(f"/users/{susan}/follow", headers=as_user(susan))
    assert unfollow.json() == {"error": "Bad Request", "message": "you cannot unfollow yourself"}
    assert await edge_rows(social_graph) == []


async def test_unfollowing_ends_the_edge_and_following_again_is_version_3(social_graph, susan_and_john):
    susan, john = susan_and_john
    await social_graph.post(f"/users/{john}/follow", headers=as_user(susan))
    response = await social_graph.delete(f"/users/{john}/follow", headers=as_user(susan))
    assert response.status_code == 204
    assert response.headers["X-Consistency-Token"] == f"social.follows:follow-{susan}-{john}:2"
    assert (await social_graph.get(f"/users/{susan}/following/{john}")).json() == {"following": False}
    assert await edge_rows(social_graph) == []
    again = await social_graph.post(f"/users/{john}/follow", headers=as_user(susan))
    assert again.headers["X-Consistency-Token"] == f"social.follows:follow-{susan}-{john}:3"
    types = [e.type for e in await events_of(social_graph, f"follow-{susan}-{john}")]
    assert types == ["UserFollowed", "UserUnfollowed", "UserFollowed"]


async def test_unfollowing_someone_never_followed_is_204_without_a_token(social_graph, susan_and_john):
    susan, john = susan_and_john
    response = await social_graph.delete(f"/users/{john}/follow", headers=as_user(susan))
    assert response.status_code == 204
    assert "X-Consistency-Token" not in response.headers


@pytest.mark.parametrize(
    "method, path, headers",
    [
        ("POST", "/users/abc/follow", as_user(1)),
        ("POST", "/users/0/follow", as_user(1)),
        ("DELETE", "/users/-4/follow", as_user(1)),
        ("POST", f"/users/{2**63}/follow", as_user(1)),
        ("POST", "/users/2/follow", as_user(0)),
        ("POST", "/users/2/follow", as_user(2**63)),
        ("POST", "/users/2/follow", {"X-User-Id": "susan"}),
        ("GET", "/users/1/following/x", {}),
        ("GET", f"/users/{2**70}/following/1", {}),
    ],
)
async def test_bad_ids_are_400_json(social_graph, method, path, headers):
    response = await social_graph.request(method, path, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


async def test_following_needs_the_gateway_s_user(social_graph):
    assert (await social_graph.post("/users/1/follow")).status_code == 401


async def test_identity_unreachable_is_a_503(migrated_database, service_client, unreachable_identity):
    app = create_app(
        SocialGraphSettings(environment="test", database_url=migrated_database("social_graph")), unreachable_identity
    )
    client = await service_client(app)
    response = await client.post("/users/2/follow", headers=as_user(1))
    assert response.status_code == 503
    assert response.json()["error"] == "Service Unavailable"
    assert (await client.post("/users/1/follow", headers=as_user(1))).status_code == 400  # no identity needed


async def test_counts_are_the_edges_now_both_ways(social_graph, register):
    susan, john, mary = await register("susan"), await register("john"), await register("mary")
    for follower, followee in ((john, susan), (mary, susan), (susan, john)):
        assert (await social_graph.post(f"/users/{followee}/follow", headers=as_user(follower))).status_code == 204
    assert (await social_graph.delete(f"/users/{susan}/follow", headers=as_user(mary))).status_code == 204
    assert (await social_graph.get(f"/users/{susan}/counts")).json() == {"follower_count": 1, "followed_count": 1}
    assert (await social_graph.get(f"/users/{mary}/counts")).json() == {"follower_count": 0, "followed_count": 0}
