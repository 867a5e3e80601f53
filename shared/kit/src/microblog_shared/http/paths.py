"""Building URL paths from values a person chose (usernames): each value stays one path segment."""

from __future__ import annotations

from urllib.parse import quote


def segment(value: str) -> str:
    """`value` as one percent-encoded path segment: '/', '%', '?', '#' and even '.' or '..' stay inside it.

    Dots are encoded too: clients such as yarl and httpx remove '.' and '..' segments but keep '%2E' as
    it is, and the server behind decodes it back, so a name made of dots is a name, not a step up.
    """
    return quote(value, safe="").replace(".", "%2E")
