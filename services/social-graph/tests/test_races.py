"""Racing requests for one pair, on two replicas sharing one database: one edge, never two."""

import asyncio
import random

from prometheus_client import REGISTRY
from sqlalchemy import text

from microblog_shared.write.eventstore import EventStore


class Meeting:
    """The first `parties` appends wait for each other, so they all race for one stream version."""

    def __init__(self, parties: int) -> None:
        self.barrier, self.waiting = asyncio.Barrier(parties), parties

    def store(self, engine) -> EventStore:
        meeting = self

        class MeetingEventStore(EventStore):
            async def append(self, *args, **kwargs):
                if meeting.waiting:
                    meeting.waiting -= 1
                    await meeting.barrier.wait()
                return await super().append(*args, **kwargs)

        return MeetingEventStore(engine, "social-graph")


def conflicts() -> float:
    return REGISTRY.get_sample_value("microblog_append_conflicts_total", {"service": "social-graph"}) or 0.0


async def stream_types(client, stream_id: str) -> list[str]:
    return [e.type for e in await EventStore(client.app.state.engine, "social-graph").read_stream(stream_id)]


async def edge_count(client, follower: int, followee: int) -> int:
    async with client.app.state.engine.connect() as conn:
        return await conn.scalar(
            text("SELECT count(*) FROM edges WHERE follower_id = :a AND followee_id = :b"),
            {"a": follower, "b": followee},
        )


async def test_eight_racing_follows_all_succeed_and_append_one_user_followed(social_graph_replicas, register):
    susan, john = await register("susan"), await register("john")
    meeting = Meeting(8)
    replicas = [await social_graph_replicas(meeting.store), await social_graph_replicas(meeting.store)]
    before = conflicts()
    responses = await asyncio.gather(
        *(replicas[i % 2].post(f"/users/{john}/follow", headers={"X-User-Id": str(susan)}) for i in range(8))
    )
    assert [r.status_code for r in responses] == [204] * 8
    assert {r.headers["X-Consistency-Token"] for r in responses} == {f"social.follows:follow-{susan}-{john}:1"}
    assert await stream_types(replicas[0], f"follow-{susan}-{john}") == ["UserFollowed"]
    assert await edge_count(replicas[0], susan, john) == 1
    assert conflicts() - before == 7  # all eight decided on version 0; seven lost at the version check


async def test_racing_follows_and_unfollows_leave_the_edge_row_matching_the_last_event(social_graph_replicas, register):
    susan, john = await register("susan"), await register("john")
    replicas = [await social_graph_replicas(), await social_graph_replicas()]
    stream = f"follow-{susan}-{john}"
    shuffle = random.Random(20261124)
    for _ in range(6):
        methods = [shuffle.choice(["POST", "DELETE"]) for _ in range(8)]
        responses = await asyncio.gather(
            *(
                replicas[i % 2].request(method, f"/users/{john}/follow", headers={"X-User-Id": str(susan)})
                for i, method in enumerate(methods)
            )
        )
        assert [r.status_code for r in responses] == [204] * 8
        types = await stream_types(replicas[0], stream)
        # Each event changes the edge: follow and unfollow alternate, starting with a follow.
        assert all(t == ("UserFollowed" if n % 2 == 0 else "UserUnfollowed") for n, t in enumerate(types))
        following = bool(types) and types[-1] == "UserFollowed"
        assert await edge_count(replicas[0], susan, john) == int(following)
        answer = await replicas[1].get(f"/users/{susan}/following/{john}")
        assert answer.json() == {"following": following}
