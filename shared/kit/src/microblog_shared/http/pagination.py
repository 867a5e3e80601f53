"""The collection format of the public API: items, _meta, _links (as the seed app had)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import HTTPException, Query
from pydantic import AfterValidator, BaseModel

from microblog_shared.http.text import has_controls

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
MAX_CURSOR_KEYS = 2  # a cursor holds a row's sort keys: an id, or a time and an id

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

    def after_id(self) -> int | None:
        """The `after` cursor of a collection in id order, `encode_cursor(id)`; None without one."""
        match self.cursor():
            case None:
                return None
            case [int() as key]:
                return key
        raise _malformed()

    def after_time_and_id(self) -> tuple[datetime, int] | None:
        """The `after` cursor of a collection in (time, id) order, `encode_cursor(time.isoformat(), id)`."""
        match self.cursor():
            case None:
                return None
            case [str() as at, int() as key]:
                try:
                    return datetime.fromisoformat(at), key
                except ValueError:
                    pass
        raise _malformed()


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
    """The values `encode_cursor` was given; a 400 for anything it could not have issued."""
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise _malformed() from None
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_CURSOR_KEYS or not all(map(_issuable, values)):
        raise _malformed()
    return values


def _issuable(value: object) -> bool:
    """A key `encode_cursor` issues: a bigint (never a bool, which JSON tells apart) or a plain string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and not has_controls(value)


def _malformed() -> HTTPException:
    return HTTPException(400, "malformed cursor in 'after'")


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
