"""The export handlers over the in-memory event store: its lookups folded from the streams."""

from datetime import datetime

import pytest

from microblog_shared.events import ExportCompleted, PostCreated, PostDeleted, registry
from microblog_shared.write.port import ConcurrencyError
from microblog_testkit.fakes import InMemoryEventStore
from posts import exports, handlers
from posts.adapters.exports import PostRow

AUTHOR = 7


class InMemoryPostsStore(InMemoryEventStore):
    """`handlers.PostsStore` in memory: the posts and exports tables folded from the streams."""

    def _events(self, prefix: str) -> list:
        return [registry.decode(e) for name, stream in self.streams.items() if name.startswith(prefix) for e in stream]

    def _live_posts(self, user_id: int) -> list[PostCreated]:
        deleted = {e.post_id for e in self._events("post-") if isinstance(e, PostDeleted)}
        return [
            e
            for e in self._events("post-")
            if isinstance(e, PostCreated) and e.author_id == user_id and e.post_id not in deleted
        ]

    async def running_export(self, user_id: int) -> bool:
        tasks = {
            name: exports.replay(map(registry.decode, stream))
            for name, stream in self.streams.items()
            if name.startswith("export-")
        }
        return any(task.user_id == user_id and not task.complete for task in tasks.values())

    async def post_count(self, user_id: int) -> int:
        return len(self._live_posts(user_id))

    async def next_posts(self, user_id: int, after_post_id: int, written_by: datetime, limit: int) -> list[PostRow]:
        posts = sorted(
            (p for p in self._live_posts(user_id) if p.post_id > after_post_id and p.created_at <= written_by),
            key=lambda p: p.post_id,
        )
        return [PostRow(p.post_id, p.body, p.language, p.created_at) for p in posts[:limit]]


@pytest.fixture
def store() -> InMemoryPostsStore:
    return InMemoryPostsStore(producer="posts")


async def write(store, count: int) -> None:
    for n in range(count):
        await handlers.write_post(store, lambda text: "en", AUTHOR, f"post {n}")


async def test_an_export_counts_the_author_s_posts_and_refuses_a_second_while_it_runs(store):
    await write(store, 3)
    export, appended = await handlers.request_export(store, AUTHOR)
    assert (export.total, appended.type, appended.stream_version) == (3, "ExportRequested", 1)
    with pytest.raises(exports.ExportRunning):
        await handlers.request_export(store, AUTHOR)


async def test_an_export_advances_a_chunk_per_append_then_completes(store):
    await write(store, 3)
    export, _ = await handlers.request_export(store, AUTHOR)
    first = await handlers.advance_export(store, export.task_id, chunk_size=2)
    assert [(e.type, e.payload["exported"]) for e in first] == [("ExportProgressed", 2)]
    last = await handlers.advance_export(store, export.task_id, chunk_size=2)
    assert [e.type for e in last] == ["ExportProgressed", ExportCompleted.type_name]
    assert await handlers.advance_export(store, export.task_id, chunk_size=2) == []
    assert not await store.running_export(AUTHOR)


async def test_a_second_worker_on_the_same_export_loses_the_append(store):
    await write(store, 1)
    export, _ = await handlers.request_export(store, AUTHOR)
    store.before_next_appends.append(
        lambda s: s.append_now(f"export-{export.task_id}", 1, exports.advance(export, [1], 5, export.requested_at))
    )
    with pytest.raises(ConcurrencyError):
        await handlers.advance_export(store, export.task_id, chunk_size=5)
