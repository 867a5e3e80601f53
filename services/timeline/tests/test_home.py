"""Home timelines against a model: fan-out, cap, celebrities, backfill, removal, edits, replay."""

import dataclasses
import random

from sqlalchemy import text

from microblog_shared.read.replay import Replay
from timeline.projection import SPEC, TimelineProjection
from timeline.settings import TimelineSettings


async def home_ids(world, user_id: int, per_page: int = 3, cursor: bool = False) -> list[int]:
    """Every post id of a home timeline, page by page (by number, or by keyset cursor)."""
    ids, page, after = [], 1, None
    while True:
        params = {"per_page": per_page, **({"after": after} if after else {"page": page})}
        body = (await world.get("/timeline", viewer=user_id, **params)).json()
        ids += [p["id"] for p in body["items"]]
        if cursor:
            after = body["_meta"]["next_after"]
            if not after:
                return ids
        else:
            if body["_links"]["next"] is None:
                assert body["_meta"]["total_items"] == len(ids)
                return ids
            page += 1


async def test_the_original_apps_four_user_home_timelines(world):
    john, susan, mary, david = 1, 2, 3, 4
    for user_id, name in ((john, "john"), (susan, "susan"), (mary, "mary"), (david, "david")):
        await world.register(user_id, name)
    for post_id, author in ((11, john), (12, susan), (13, mary), (14, david)):
        await world.post(post_id, author)
    await world.follow(john, susan)
    await world.follow(john, david)
    await world.follow(susan, mary)
    await world.follow(mary, david)
    assert await home_ids(world, john, per_page=10) == [14, 12, 11]
    assert await home_ids(world, susan, per_page=10) == [13, 12]
    assert await home_ids(world, mary, per_page=10) == [14, 13]
    assert await home_ids(world, david, per_page=10) == [14]
    susan_view = (await world.get("/users/2", viewer=2)).json()
    assert (susan_view["follower_count"], susan_view["followed_count"]) == (1, 1)


async def test_edits_and_deletes_reach_every_copy(world):
    for n in (1, 2, 3):
        await world.register(n)
    await world.follow(2, 1)
    await world.follow(3, 1)
    await world.post(10, 1, "first words")
    await world.post(11, 1, "more words")
    await world.edit(10, 1, "better words")
    await world.delete(11, 1)
    for reader in (1, 2, 3):
        items = (await world.get("/timeline", viewer=reader)).json()["items"]
        assert [(p["id"], p["body"]) for p in items] == [(10, "better words")]
        assert items[0]["edited_at"] is not None
    assert (await world.get("/users/1", viewer=1)).json()["post_count"] == 1
    assert (await world.get("/explore")).json()["_meta"]["total_items"] == 1


async def test_follow_backfills_and_unfollow_removes(world):
    for n in (1, 2):
        await world.register(n)
    for post_id in range(20, 25):
        await world.post(post_id, 1)
    await world.post(30, 2)
    await world.follow(2, 1)
    assert await home_ids(world, 2, per_page=10) == [30, 24, 23, 22, 21, 20]
    await world.unfollow(2, 1)
    assert await home_ids(world, 2, per_page=10) == [30]


async def test_pages_past_the_cap_are_served_by_the_fallback(make_world):
    world = await make_world(cap=10)
    for n in (1, 2, 3):
        await world.register(n)
    await world.follow(3, 1)
    await world.follow(3, 2)
    expected = []
    for post_id in range(100, 140):
        await world.post(post_id, 1 if post_id % 3 else 2)
        expected.insert(0, post_id)
    assert await home_ids(world, 3, per_page=7) == expected
    assert await home_ids(world, 3, per_page=7, cursor=True) == expected
    async with world.app.state.engine.connect() as conn:
        kept = await conn.scalar(text("SELECT count(*) FROM home_entries WHERE user_id = 3"))
    assert kept <= 11


async def test_a_backfill_that_fills_a_home_to_exactly_the_cap_keeps_older_posts_reachable(make_world):
    world = await make_world(cap=5)
    for n in (1, 2):
        await world.register(n)
    for post_id in range(60, 68):
        await world.post(post_id, 1)
    await world.follow(2, 1)  # the backfill's LIMIT takes 5 of 8 posts: a home of exactly the cap
    assert await home_ids(world, 2, per_page=3) == list(range(67, 59, -1))


async def test_celebrities_are_merged_at_read_time_not_fanned_out(make_world):
    world = await make_world(celebrity_followers=2)
    for n in range(1, 6):
        await world.register(n)
    for reader in (2, 3, 4):
        await world.follow(reader, 1)
    await world.settle()  # topics are ordered apart: let the third follow land before the post
    await world.post(50, 1)
    await world.post(51, 5)
    await world.follow(2, 5)
    assert await home_ids(world, 2, per_page=10) == [51, 50]
    assert await home_ids(world, 4, per_page=10) == [50]
    async with world.app.state.engine.connect() as conn:
        copies = await conn.scalar(text("SELECT count(*) FROM home_entries WHERE post_id = 50"))
    assert copies == 1  # only the author's own home


async def test_random_histories_match_the_model_and_a_replay(make_world):
    """Many follows, unfollows, posts, edits and deletes with a tiny cap and celebrity threshold."""
    world = await make_world(cap=5, celebrity_followers=3)
    rng = random.Random(2026)
    users = list(range(1, 9))
    for user_id in users:
        await world.register(user_id)
    follows: set[tuple[int, int]] = set()
    posts: dict[int, int] = {}  # post id -> author, in creation order
    next_post = 1000
    for _ in range(260):
        action = rng.random()
        a, b = rng.sample(users, 2)
        if action < 0.3:
            await world.follow(a, b)
            follows.add((a, b))
        elif action < 0.4 and (a, b) in follows:
            await world.unfollow(a, b)
            follows.discard((a, b))
        elif action < 0.85:
            next_post += 1
            await world.post(next_post, a)
            posts[next_post] = a
        elif posts:
            post_id = rng.choice(list(posts))
            if action < 0.93:
                await world.edit(post_id, posts[post_id], f"edited {post_id}")
            else:
                await world.delete(post_id, posts.pop(post_id))
    await world.settle()

    def expected_home(reader: int) -> list[int]:
        authors = {reader} | {followee for follower, followee in follows if follower == reader}
        return sorted((p for p, author in posts.items() if author in authors), reverse=True)

    for reader in users:
        assert await home_ids(world, reader, per_page=4) == expected_home(reader), reader
        assert await home_ids(world, reader, per_page=3, cursor=True) == expected_home(reader), reader

    # A replay from the start of the log, into fresh tables, serves the same timelines.
    replay = await make_world(cap=5, celebrity_followers=3, group="replay.timeline")
    replay.versions, replay.last_token = world.versions, world.last_token
    await replay.settle()
    for reader in users:
        assert await home_ids(replay, reader, per_page=4) == expected_home(reader), reader
        live_user = (await world.get(f"/users/{reader}", viewer=reader)).json()
        assert (await replay.get(f"/users/{reader}", viewer=reader)).json() == live_user
    assert (await replay.get("/explore", per_page=100)).json() == (await world.get("/explore", per_page=100)).json()

    # `microblog replay` (homes built in one pass once the log is applied) serves them too.
    await world.app.state.read_model.start()
    spec = dataclasses.replace(SPEC, make=lambda settings: TimelineProjection(5, 3))
    settings = TimelineSettings(environment="test", database_url=world.app.state.settings.database_url)
    result = await Replay(spec, settings, world.bus).run()
    await world.app.state.read_model.refresh()
    assert world.app.state.read_model.schema == result.schema == "timeline_v1"
    for reader in users:
        assert await home_ids(world, reader, per_page=4) == expected_home(reader), reader
