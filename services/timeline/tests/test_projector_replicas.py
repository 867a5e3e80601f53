"""Two timeline projectors share the partitions (issue 18): the homes equal the model's.

Each replica runs on an engine of its own in one consumer group; a follow's backfill and a
post's fan-out applied at once by the two must not miss each other (the author lock), and
no post may show twice in a home.
"""

import random


async def home_ids(world, user_id: int) -> list[int]:
    ids, after = [], None
    while True:
        body = (await world.get("/timeline", viewer=user_id, per_page=25, **({"after": after} if after else {}))).json()
        ids += [p["id"] for p in body["items"]]
        after = body["_meta"]["next_after"]
        if not after:
            return ids


async def test_two_projectors_share_the_partitions_and_build_the_models_homes(make_world):
    world = await make_world(cap=6, celebrity_followers=4, replicas=2)
    applied = {id(runner): 0 for runner in world.runners}
    for runner in world.runners:
        handle = runner.handle

        async def counted(records, runner=runner, handle=handle):
            result = await handle(records)
            applied[id(runner)] += result.applied if result else 0
            return result

        runner.handle = counted

    rng = random.Random(18)
    users = list(range(1, 13))
    for user_id in users:
        await world.register(user_id)
    follows: set[tuple[int, int]] = set()
    posts: dict[int, int] = {}
    for post_id in range(2000, 2300):
        a, b = rng.sample(users, 2)
        if rng.random() < 0.35:
            if (a, b) in follows:
                await world.unfollow(a, b)
                follows.discard((a, b))
            else:
                await world.follow(a, b)
                follows.add((a, b))
        else:
            await world.post(post_id, a)
            posts[post_id] = a
    await world.settle()

    assert all(runner.consumer.assignment() for runner in world.runners), "each replica holds partitions"
    assert all(applied.values()), applied
    for reader in users:
        authors = {reader} | {followee for follower, followee in follows if follower == reader}
        expected = sorted((p for p, author in posts.items() if author in authors), reverse=True)
        assert await home_ids(world, reader) == expected, reader  # each post once, newest first
