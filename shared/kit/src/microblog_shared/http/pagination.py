"""The collection format of the public API: items, _meta, _links (as the seed app had)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import HTTPException, Query
from pydantic import AfterValidator, BaseModel

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100

# As the seed API: a page holds at most MAX_PER_PAGE items, and asking for more is served that many.
PerPage = Annotated[
    int,
    Query(ge=1, description=f"items per page; values above {MAX_PER_PAGE} are treated as {MAX_PER_PAGE}"),
    AfterValidator(lambda n: min(n, MAX_PER_PAGE)),
]


class PageParams(BaseModel):
    """A page by number, or (faster for deep pages) the keyset cursor `after` of the previous page."""

    page: int
    per_page: int
    after: str | None = None

    @property
    def offset(self) -> int:
        return 0 if self.after else (self.page - 1) * self.per_page

    def cursor(self) -> list[str | int] | None:
        """The decoded `after` cursor (a list of key values), or None."""
        return decode_cursor(self.after) if self.after else None


async def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: PerPage = DEFAULT_PER_PAGE,
    after: Annotated[str | None, Query(max_length=200, description="keyset cursor from _meta.next_after")] = None,
) -> PageParams:
    params = PageParams(page=page, per_page=per_page, after=after or None)
    params.cursor()  # a malformed cursor is the client's error: 400 now, not later
    return params


def encode_cursor(*values: Any) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(values, default=str, separators=(",", ":")).encode()).decode().rstrip("=")
    )


def decode_cursor(raw: str) -> list[str | int]:
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "malformed cursor in 'after'") from None
    if not isinstance(values, list) or not values or not all(isinstance(v, (str, int)) for v in values):
        raise HTTPException(400, "malformed cursor in 'after'")
    return values


def collection(
    items: list[Any], params: PageParams, total_items: int, path: str, next_after: str | None = None, **query: Any
) -> dict[str, Any]:
    """The seed's collection shape; `next_after` (when given) is the keyset cursor of the next page."""
    total_pages = max(1, -(-total_items // params.per_page)) if total_items else 0

    def link(page: int) -> str:
        return f"{path}?{urlencode({**query, 'page': page, 'per_page': params.per_page})}"

    if params.after:
        more = next_after is not None and len(items) == params.per_page
        return {
            "items": items,
            "_meta": {
                "page": None,
                "per_page": params.per_page,
                "total_pages": total_pages,
                "total_items": total_items,
                "next_after": next_after if more else None,
            },
            "_links": {
                "self": f"{path}?{urlencode({**query, 'after': params.after, 'per_page': params.per_page})}",
                "next": f"{path}?{urlencode({**query, 'after': next_after, 'per_page': params.per_page})}"
                if more
                else None,
                "prev": None,
            },
        }
    return {
        "items": items,
        "_meta": {
            "page": params.page,
            "per_page": params.per_page,
            "total_pages": total_pages,
            "total_items": total_items,
            "next_after": next_after if params.page < total_pages else None,
        },
        "_links": {
            "self": link(params.page),
            "next": link(params.page + 1) if params.page < total_pages else None,
            "prev": link(params.page - 1) if params.page > 1 else None,
        },
    }
