"""Where a browser may be sent next, and page numbers from the query string."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_PAGE = 10_000


def safe_next(target: str | None, default: str = "/index") -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target or len(target) > 2000:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def page_number(raw: str | None) -> int | None:
    """A page number from `?page=` (1 when absent), or None when it isn't one."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return None
    page = int(raw)
    return page if 1 <= page <= MAX_PAGE else None
