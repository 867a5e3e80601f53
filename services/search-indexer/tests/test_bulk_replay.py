"""A replay's bulk mode (large batches, index maintenance set aside) answers as the live projection does."""

from __future__ import annotations

from sqlalchemy import text

from microblog_shared.read.replay import Replay
from search_indexer.adapters.elasticsearch import ElasticsearchSearchIndex
from search_indexer.projection import SPEC

QUERIES = ["kafka", "kafka stream", "edited", "北京", "nino", "nothing here"]
REPLICAS = 1  # not the bulk phase's 0, so that restoring it shows


async def history(world) -> None:
    """More posts than a bulk batch holds, edited and deleted across batches, ranked apart by repetition."""
    for user in range(1, 6):
        await world.register(user)
    for post_id in range(1, 151):
        body = " ".join(["kafka"] * (post_id % 4 + 1)) + (" stream" if post_id % 3 == 0 else "") + f" post {post_id}"
        await world.post(post_id, post_id % 5 + 1, body)
    await world.post(151, 1, "我们明天去北京", language="zh")
    await world.post(152, 2, "el niño", language="es")
    for post_id in range(1, 150, 7):
        await world.edit(post_id, post_id % 5 + 1, f"edited post {post_id} about kafka")
    for post_id in range(2, 150, 11):
        await world.delete(post_id, post_id % 5 + 1)
    await world.rename(3, "renamed")


async def answers(world) -> dict[str, tuple[int, list]]:
    """Per query: how many posts match, and the first page (ids and authors, in rank order)."""
    found = {}
    for q in QUERIES:
        body = (await world.search(q, per_page=20)).json()
        page = [(p["id"], p["author"]["username"], p["body"]) for p in body["items"]]
        found[q] = (body["_meta"]["total_items"], page)
    return found


async def test_a_bulk_replay_answers_searches_as_the_live_projection_did(make_world, bus, served_settings):
    world = await make_world(elasticsearch_replicas=REPLICAS)
    await history(world)
    live = await answers(world)
    assert live["kafka"][0] > 100 and live["nothing here"] == (0, [])

    # Batches of 40 records: posts are created, edited and deleted in different bulk batches.
    result = await Replay(SPEC, world.app.state.settings, bus, close_enough=10, bulk_batch=40).run()

    assert {"bulk", "build"} <= set(result.steps), result.steps
    await world.app.state.read_model.refresh()
    assert world.app.state.read_model.schema == result.schema
    assert await answers(world) == live
    index = world.app.state.index
    if isinstance(index, ElasticsearchSearchIndex):  # served as the live one was: refreshing, with its replicas
        assert await served_settings(index, result.schema) == await served_settings(index, "public")
        assert await served_settings(index, result.schema) == {"refresh_interval": None, "replicas": str(REPLICAS)}
    else:  # the GIN index set aside for the load is back
        async with world.app.state.engine.connect() as conn:
            indexes = await conn.scalars(
                text("SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = 'post_terms'"),
                {"s": result.schema},
            )
            assert sorted(indexes) == ["post_terms_pkey", "post_terms_search"]
    await world.post(1000, 1, "kafka after the switch")
    assert (await world.found("switch")) == [1000]
