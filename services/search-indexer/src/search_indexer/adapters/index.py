"""The search port: what the projection and the read API need from a full-text index.

Both adapters (PostgreSQL full-text search, Elasticsearch) pass one contract suite
(tests/test_contract.py). `conn` is the read model's PostgreSQL connection, already in the
read-model version being written or read (its schema): the PostgreSQL adapter works in it (the
projector's transaction), the Elasticsearch adapter uses it to name the index of that version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from search_indexer.domain.posts import Post
from search_indexer.domain.search import SearchHits, SearchPage, SearchRequest


class SearchIndex(Protocol):
    async def write(self, conn: AsyncConnection, posts: Sequence[Post]) -> None:
        """Index these post states: idempotent, the newest version wins, unsearchable states match nothing."""

    async def search(self, conn: AsyncConnection, request: SearchRequest) -> SearchHits:
        """Posts matching every term, best match first (ties: newest first), one page, and how many match."""

    async def search_posts(self, conn: AsyncConnection, request: SearchRequest) -> SearchPage:
        """`search`'s page as the read model's post rows (authors' current names), hydrated in one query.

        Posts the index still lists but the read model no longer shows are left out of the page.
        """

    async def start_bulk(self, conn: AsyncConnection) -> None:
        """A replay is about to index the whole log into the fresh version `conn` works in, which
        nobody searches yet: set aside what each write would maintain (index structures, refreshes)."""

    async def finish_bulk(self, conn: AsyncConnection) -> None:
        """Build and restore what `start_bulk` set aside, so the version serves as a live one would."""

    async def read_model_switched(self, previous: str, schema: str, drop_previous: bool) -> None:
        """A replay made `schema` the served version (and may have dropped `previous`)."""

    async def ready(self) -> None:
        """Raise if the index cannot serve."""

    async def close(self) -> None:
        """Release connections."""


async def schema_of(conn: AsyncConnection) -> str:
    """The read-model version (schema) this connection works in."""
    return await conn.scalar(text("SELECT current_schema()"))
