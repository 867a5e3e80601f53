"""A replay rebuilds the search read model (and index) into a new version, equal to the live one."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from microblog_shared.read.replay import Replay, projection_specs
from search_indexer.projection import SPEC

QUERIES = ["kafka", "post", "北京", "nino", "edited"]
TABLES = {"users": "id", "posts": "id", "post_terms": "post_id"}


async def history(world) -> None:
    """Posts, edits, deletes and renames, in several languages."""
    for user in range(1, 4):
        await world.register(user)
    for post_id in range(1, 41):
        await world.post(post_id, post_id % 3 + 1, f"post {post_id} about kafka" if post_id % 2 else f"post {post_id}")
    await world.post(41, 1, "我们明天去北京", language="zh")
    await world.post(42, 2, "el niño", language="es")
    for post_id in range(1, 10):
        await world.edit(post_id, post_id % 3 + 1, f"edited post {post_id}")
    for post_id in range(10, 15):
        await world.delete(post_id, post_id % 3 + 1)
    await world.rename(2, "renamed")


async def answers(world) -> dict[str, list]:
    return {q: (await world.search(q, per_page=100)).json()["items"] for q in QUERIES}


async def tables(world, schema: str) -> dict[str, list]:
    async with world.app.state.engine.connect() as conn:
        return {
            table: [tuple(row) for row in await conn.execute(text(f'SELECT * FROM "{schema}".{table} ORDER BY {key}'))]
            for table, key in TABLES.items()
        }


async def documents(world, schema: str) -> dict:
    index = world.app.state.index
    if not hasattr(index, "client"):
        return {}
    found = await index.client.search(index=index.index_of(schema), query={"match_all": {}}, size=1000, version=True)
    return {hit["_id"]: (hit["_version"], hit["_source"]) for hit in found["hits"]["hits"]}


async def test_the_search_indexer_publishes_its_projection_for_operators():
    assert projection_specs()["search-indexer"] is SPEC


async def test_a_replay_builds_the_same_read_model_as_the_live_projection(make_world, bus):
    world = await make_world()
    await history(world)
    before = await answers(world)
    live_tables, live_documents = await tables(world, "public"), await documents(world, "public")

    result = await Replay(SPEC, world.app.state.settings, bus, close_enough=10).run()

    assert (result.previous, result.schema) == ("public", "search_indexer_v1")
    assert await tables(world, "search_indexer_v1") == live_tables
    assert await documents(world, "search_indexer_v1") == live_documents
    await world.app.state.read_model.refresh()
    assert world.app.state.read_model.schema == "search_indexer_v1"
    assert await answers(world) == before


async def test_searches_go_on_during_a_replay_and_new_posts_are_found_after_the_switch(make_world, bus):
    world = await make_world()
    await history(world)
    writing = asyncio.Event()
    totals: list[int] = []

    async def search_all_the_time() -> None:
        while not writing.is_set() or len(totals) < 5:
            response = await world.client.get("/search", params={"q": "live"})
            assert response.status_code == 200, response.text
            totals.append(response.json()["_meta"]["total_items"])
            await asyncio.sleep(0.01)

    async def post_all_the_time() -> None:
        post_id = 1000
        while not writing.is_set():
            post_id += 1
            await world.post(post_id, 1, f"live post {post_id}")
            await asyncio.sleep(0.02)

    tasks = [asyncio.create_task(search_all_the_time()), asyncio.create_task(post_all_the_time())]
    result = await Replay(SPEC, world.app.state.settings, bus, close_enough=10).run()
    await asyncio.sleep(0.3)
    writing.set()
    await asyncio.gather(*tasks)

    assert result.schema == "search_indexer_v1"
    assert totals == sorted(totals), "a search went back in time"
    live = sorted(
        int(stream[5:]) for stream in world.events.versions if stream.startswith("post-") and int(stream[5:]) > 1000
    )
    assert sorted(await world.found_all("live")) == live  # however many were written meanwhile


async def test_a_second_replay_can_drop_the_previous_version_and_its_index(make_world, bus):
    world = await make_world()
    await world.register(1)
    await world.post(1, 1, "kafka")
    await world.settle()
    first = await Replay(SPEC, world.app.state.settings, bus).run()
    second = await Replay(SPEC, world.app.state.settings, bus).run(drop_old=True)
    assert (first.schema, second.previous, second.schema) == (
        "search_indexer_v1",
        "search_indexer_v1",
        "search_indexer_v2",
    )
    index = world.app.state.index
    if hasattr(index, "client"):  # the alias names the served index, and the dropped one is gone
        aliased = await index.client.indices.get_alias(name=index.name)
        assert list(aliased) == [index.index_of("search_indexer_v2")]
        assert not await index.client.indices.exists(index=index.index_of("search_indexer_v1"))
    await world.post(2, 1, "kafka again")
    assert sorted(await world.found("kafka")) == [1, 2]
