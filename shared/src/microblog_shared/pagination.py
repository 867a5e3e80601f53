"""The collection format of the public API: items, _meta, _links (as the seed app had)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query
from pydantic import BaseModel

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100


class PageParams(BaseModel):
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


def collection(items: list[Any], params: PageParams, total_items: int, path: str, **query: Any) -> dict:
    total_pages = max(1, -(-total_items // params.per_page)) if total_items else 0

    def link(page: int) -> str:
        return f"{path}?{urlencode({**query, 'page': page, 'per_page': params.per_page})}"

    return {
        "items": items,
        "_meta": {
            "page": params.page,
            "per_page": params.per_page,
            "total_pages": total_pages,
            "total_items": total_items,
        },
        "_links": {
            "self": link(params.page),
            "next": link(params.page + 1) if params.page < total_pages else None,
            "prev": link(params.page - 1) if params.page > 1 else None,
        },
    }
