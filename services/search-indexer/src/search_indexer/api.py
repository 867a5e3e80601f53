"""The search read API: ranked, paginated post search; every read honours the consistency token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from microblog_shared.http.pagination import MAX_PER_PAGE, PageParams, collection
from microblog_shared.http.readapi import answer, consistent
from microblog_shared.http.text import Text
from microblog_shared.http.views import post_view
from search_indexer import queries
from search_indexer.deps import Index, Reads
from search_indexer.domain.search import MAX_QUERY_LENGTH, SearchRequest

router = APIRouter(dependencies=[Depends(consistent)])


@router.get("/search")
async def search(
    request: Request,
    reads: Reads,
    index: Index,
    q: Annotated[Text, Query(min_length=1, max_length=MAX_QUERY_LENGTH, description="words to find, all of them")],
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 10,
):
    wanted = SearchRequest.parse(q, page, per_page)
    async with reads.connect() as conn:
        hits = await index.search(conn, wanted)
        rows = await queries.posts_in_order(conn, hits.post_ids)
    body = collection(
        [post_view(r) for r in rows], PageParams(page=page, per_page=per_page), hits.total, "/api/search", q=q
    )
    return answer(request, body)
