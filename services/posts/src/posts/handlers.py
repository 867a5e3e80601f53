"""Posts' use cases."""

from __future__ import annotations

from datetime import datetime, timezone

from microblog_shared.events import Envelope
from microblog_shared.eventstore import EventStore
from posts import domain


async def write_post(store: EventStore, author_id: int, body: str) -> Envelope:
    post_id = await store.next_id("post_ids")
    created = domain.create_post(post_id, author_id, body, datetime.now(timezone.utc))
    (appended,) = await store.append(domain.stream_id(post_id), 0, [created])
    return appended
