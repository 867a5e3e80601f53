"""A replay rebuilds the timeline into a new version while the live one serves, then switches."""

import asyncio

from sqlalchemy import text

from microblog_shared.read.replay import Replay, projection_specs
from timeline.projection import SPEC
from timeline.settings import TimelineSettings


async def explore_total(world) -> int:
    response = await world.client.get("/explore", params={"per_page": 1})
    assert response.status_code == 200, response.text
    return response.json()["_meta"]["total_items"]


async def test_the_timeline_publishes_its_projection_for_operators():
    assert projection_specs()["timeline"] is SPEC


async def test_reads_never_fail_or_go_back_in_time_during_a_replay(make_world, bus):
    world = await make_world()
    await world.app.state.read_model.start()
    for user in range(1, 6):
        await world.register(user)
    for post_id in range(1, 301):
        await world.post(post_id, post_id % 5 + 1)
    await world.follow(2, 1)
    await world.settle()
    before = await world.get("/timeline", viewer=2, per_page=100)

    seen: list[int] = []
    writing = asyncio.Event()

    async def read_all_the_time() -> None:
        while not writing.is_set() or len(seen) < 5:
            seen.append(await explore_total(world))
            await asyncio.sleep(0.005)

    async def write_all_the_time() -> None:
        post_id = 1000
        while not writing.is_set():
            post_id += 1
            await world.post(post_id, 3)
            await asyncio.sleep(0.01)

    reader, writer = asyncio.create_task(read_all_the_time()), asyncio.create_task(write_all_the_time())
    settings = TimelineSettings(environment="test", database_url=world.app.state.settings.database_url)
    progress: list[tuple[int, int]] = []
    result = await Replay(SPEC, settings, bus, close_enough=50).run(lambda done, total: progress.append((done, total)))
    await asyncio.sleep(0.3)  # reads and writes go on across the switch
    writing.set()
    await asyncio.gather(reader, writer)

    assert result.previous == "public" and result.schema == "timeline_v1"
    assert result.records >= 306 and progress[-1][0] == progress[-1][1]
    assert seen == sorted(seen), "a read went back in time"
    # The live projector went on in the new version, and the API reads it.
    await world.settle()
    assert world.app.state.read_model.schema == "timeline_v1"
    async with world.app.state.engine.connect() as conn:
        pointer = await conn.scalar(text("SELECT schema FROM read_model_versions WHERE projection = 'timeline'"))
        frozen = await conn.scalar(text("SELECT value FROM public.totals WHERE name = 'posts'"))
        live = await conn.scalar(text("SELECT value FROM timeline_v1.totals WHERE name = 'posts'"))
    assert pointer == "timeline_v1"
    posts = sum(1 for stream in world.versions if stream.startswith("post-"))
    assert await explore_total(world) == live == posts > frozen
    assert (await world.get("/timeline", viewer=2, per_page=100)).json()["items"] == before.json()["items"]


async def test_a_second_replay_builds_the_next_version_and_can_drop_the_previous(make_world, bus):
    world = await make_world()
    await world.app.state.read_model.start()
    await world.register(1)
    await world.post(1, 1)
    await world.settle()
    settings = TimelineSettings(environment="test", database_url=world.app.state.settings.database_url)
    first = await Replay(SPEC, settings, bus).run()
    second = await Replay(SPEC, settings, bus).run(drop_old=True)
    assert (first.schema, second.previous, second.schema) == ("timeline_v1", "timeline_v1", "timeline_v2")
    async with world.app.state.engine.connect() as conn:
        schemas = (
            (
                await conn.execute(
                    text("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'timeline_v%'")
                )
            )
            .scalars()
            .all()
        )
    assert schemas == ["timeline_v2"]
    await world.post(2, 1)
    assert (await world.get("/explore")).json()["_meta"]["total_items"] == 2


async def test_a_replay_ends_with_every_index_and_key_the_migrations_make(make_world, bus):
    """The bulk phase sets indexes and keys aside; the version it switches to has them all back."""
    world = await make_world()
    await world.app.state.read_model.start()
    for user in (1, 2):
        await world.register(user)
    await world.follow(2, 1)
    await world.post(1, 1)
    await world.settle()
    settings = TimelineSettings(environment="test", database_url=world.app.state.settings.database_url)
    result = await Replay(SPEC, settings, bus).run()

    async def indexes(schema: str) -> list[tuple[str, str]]:
        async with world.app.state.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s ORDER BY indexname"),
                {"s": schema},
            )
            return [(r.indexname, r.indexdef.replace(f"{schema}.", "")) for r in rows]

    built = await indexes(result.schema)
    assert built == [i for i in await indexes("public") if i[0] != "read_model_versions_pkey"]
    assert (
        "home_entries_pkey",
        "CREATE UNIQUE INDEX home_entries_pkey ON home_entries USING btree (user_id, created_at, post_id)",
    ) in built
