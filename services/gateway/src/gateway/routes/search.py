"""Search over posts (the search indexer): every word of `q`, best match first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.deps import Caller, Services
from gateway.schemas import PostCollection, errors
from microblog_shared.http.pagination import PerPage
from microblog_shared.http.text import Text

router = APIRouter(tags=["posts"])


@router.get(
    "/search",
    response_model=PostCollection,
    response_model_exclude_unset=True,
    responses=errors(400, 401),
    summary="Posts containing every word of q, best match first",
    description="Words match whatever their case and accents; Chinese and Japanese text matches as "
    "written. Quotes, brackets and other symbols only separate words. Send your last "
    "X-Consistency-Token to find a post you just wrote.",
)
async def search(
    caller: Caller,
    request: Request,
    services: Services,
    q: Annotated[Text, Query(min_length=1, max_length=200, examples=["kafka"])],
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: PerPage = 10,
):
    # The indexer answers the public shape already (its tests pin it): its bytes pass through as
    # they are, without decoding, checking and encoding 10 to 100 posts again on every search.
    return await services.search_indexer.forward(
        "GET", "/search", request, caller, params={"q": q, "page": page, "per_page": per_page}
    )
