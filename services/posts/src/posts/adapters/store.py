"""Posts' event store: PostgreSQL's, answering the handlers' lookups from the posts and exports tables."""

from __future__ import annotations

from datetime import datetime

from microblog_shared.write.eventstore import EventStore
from posts.adapters import exports


class PostsEventStore(EventStore):
    """`handlers.PostsStore` on PostgreSQL."""

    async def running_export(self, user_id: int) -> bool:
        return await exports.running_for(self.engine, user_id)

    async def post_count(self, user_id: int) -> int:
        return await exports.post_count(self.engine, user_id)

    async def next_posts(
        self, user_id: int, after_post_id: int, written_by: datetime, limit: int
    ) -> list[exports.PostRow]:
        return await exports.next_posts(self.engine, user_id, after_post_id, written_by, limit)
