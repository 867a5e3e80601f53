"""The search read API: ranked, paginated post search; every read honours the consistency token."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from microblog_shared.http.pagination import MAX_PER_PAGE, PageParams, collection
from microblog_shared.http.readapi import consistent
from microblog_shared.http.text import Text
from microblog_shared.http.views import post_view
from search_indexer import queries
from search_indexer.deps import Answers, Index, Reads
from search_indexer.domain.search import MAX_QUERY_LENGTH, SearchRequest
from search_indexer.projection import NAME

router = APIRouter(dependencies=[Depends(consistent)])


@router.get("/search")
async def search(
    request: Request,
    reads: Reads,
    index: Index,
    answers: Answers,
    q: Annotated[Text, Query(min_length=1, max_length=MAX_QUERY_LENGTH, description="words to find, all of them")],
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 10,
):
    wanted = SearchRequest.parse(q, page, per_page)
    key = (q, page, per_page)  # q as sent: the answer's links repeat it
    async with reads.connect() as conn:
        state = await queries.read_model_state(conn, NAME)  # after the consistency wait: it includes the token
        body = answers.get(state, key)
        if body is None:
            found = await index.search_posts(conn, wanted)
            body = orjson.dumps(
                collection(
                    [post_view(r) for r in found.posts],
                    PageParams(page=page, per_page=per_page),
                    found.total,
                    "/api/search",
                    q=q,
                )
            )
            answers.put(state, key, body)
    reached = getattr(request.state, "consistency_reached", None)
    return Response(
        body, media_type="application/json", headers={"X-Consistency-Reached": reached} if reached else None
    )
