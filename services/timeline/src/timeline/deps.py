"""What the timeline's routes take: the served read model's engine, the page and the caller (if any)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from microblog_shared.http.auth import CallerId, CallerIdIfAny
from microblog_shared.http.deps import Reads
from microblog_shared.http.pagination import PageParams, page_params

__all__ = ["CallerId", "CallerIdIfAny", "Page", "Reads"]

Page = Annotated[PageParams, Depends(page_params)]
