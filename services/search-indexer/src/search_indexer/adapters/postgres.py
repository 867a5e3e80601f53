"""PostgreSQL full-text search: a tsvector per post (GIN-indexed), ranked by cover density.

Terms come from the domain's analysis (the `simple` parser would drop or merge CJK text and
depends on the server's locale), written as tsvector and tsquery literals with every lexeme
quoted, so nothing a client types is ever parsed as query syntax. Rows live in the read-model
version's own schema, written in the projector's transaction. A replay loads them without the
GIN index and builds it once at the end (start_bulk/finish_bulk): one sorted pass over the full
table instead of a pending-list insert per post.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.read.bulk import analyze, build_indexes, set_indexes_aside
from search_indexer.domain.analysis import index_terms
from search_indexer.domain.posts import Post
from search_indexer.domain.search import SearchHits, SearchPage, SearchRequest
from search_indexer.queries import POST_COLUMNS, SHOWN

MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
MAX_POSITIONS_PER_TERM = 256  # and how many it keeps per lexeme
# ts_rank_cd normalisation 1: divide by 1 + log(document length), so one mention in a short post
# is not outranked by a long post that mentions a term once among many others.
RANK_NORMALISATION = 1


@lru_cache(maxsize=65536)  # a replay meets the same words over and over
def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


_POSITIONS = [str(position) for position in range(MAX_POSITION + 1)]


def tsvector_literal(terms: Sequence[str]) -> str:
    positions: dict[str, list[str]] = {}
    for position, term in enumerate(terms[:MAX_POSITION], start=1):
        at = positions.get(term)
        if at is None:
            positions[term] = [_POSITIONS[position]]
        elif len(at) < MAX_POSITIONS_PER_TERM:
            at.append(_POSITIONS[position])
    return " ".join(f"{_lexeme(term)}:{','.join(at)}" for term, at in positions.items())


def tsquery_literal(terms: Sequence[str]) -> str:
    return " & ".join(_lexeme(term) for term in terms)


# The matches, each ranked once (for the page and counted for the total), and the page of them.
# The statements using it answer at least one row (the total), with NULLs when the page is empty.
RANKED = """WITH hits AS MATERIALIZED (
                 SELECT post_id, ts_rank_cd(terms, q, :norm) AS rank
                 FROM post_terms, CAST(:q AS tsquery) AS q WHERE terms @@ q),
             page AS (SELECT post_id, rank FROM hits ORDER BY rank DESC, post_id DESC LIMIT :n OFFSET :o)"""


def _ranking(request: SearchRequest) -> dict:
    return {"q": tsquery_literal(request.terms), "norm": RANK_NORMALISATION, "n": request.per_page, "o": request.offset}


class PostgresSearchIndex:
    def __init__(self) -> None:
        self.indexes_aside: list[str] = []  # the GIN index's definition while a replay loads terms

    async def write(self, conn: AsyncConnection, posts: Sequence[Post]) -> None:
        rows = [
            {
                "post_id": p.post_id,
                "version": p.version,
                "terms": tsvector_literal(index_terms(p.body)) if p.searchable else "",
            }
            for p in posts
        ]
        await conn.execute(
            text("""INSERT INTO post_terms AS t (post_id, version, terms)
                    SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS r(post_id bigint, version int, terms tsvector)
                    ON CONFLICT (post_id) DO UPDATE SET version = EXCLUDED.version, terms = EXCLUDED.terms
                    WHERE t.version <= EXCLUDED.version"""),
            {"rows": orjson.dumps(rows).decode()},  # cheaper than text arrays of literals (see projection.py)
        )

    async def search(self, conn: AsyncConnection, request: SearchRequest) -> SearchHits:
        rows = (
            await conn.execute(
                text(f"""{RANKED} SELECT (SELECT count(*) FROM hits) AS total, page.post_id
                         FROM (SELECT 1) AS one LEFT JOIN page ON true
                         ORDER BY page.rank DESC, page.post_id DESC"""),
                _ranking(request),
            )
        ).all()
        return SearchHits([r.post_id for r in rows if r.post_id is not None], rows[0].total)

    async def search_posts(self, conn: AsyncConnection, request: SearchRequest) -> SearchPage:
        """Ranking, count and the posts with their authors in one statement (one round trip)."""
        rows = (
            await conn.execute(
                text(f"""{RANKED} SELECT (SELECT count(*) FROM hits) AS total, {POST_COLUMNS}
                         FROM (SELECT 1) AS one
                         LEFT JOIN (page JOIN posts p ON p.id = page.post_id AND {SHOWN}
                                    LEFT JOIN users u ON u.id = p.author_id) ON true
                         ORDER BY page.rank DESC, page.post_id DESC"""),
                _ranking(request),
            )
        ).all()
        return SearchPage([r for r in rows if r.id is not None], rows[0].total)

    async def start_bulk(self, conn: AsyncConnection) -> None:
        self.indexes_aside = await set_indexes_aside(conn, ["post_terms"])

    async def finish_bulk(self, conn: AsyncConnection) -> None:
        await build_indexes(conn, self.indexes_aside)
        await analyze(conn, ["post_terms"])
        self.indexes_aside = []

    async def read_model_switched(self, previous: str, schema: str, drop_previous: bool) -> None:
        """Nothing to do: the terms live in the version's schema, which the replay switched."""

    async def ready(self) -> None:
        """Ready with the database (the app's own check)."""

    async def close(self) -> None:
        """No connections of its own."""
