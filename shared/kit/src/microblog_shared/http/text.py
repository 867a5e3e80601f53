"""Text a client sends: any character but the controls, bar the whitespace a body may hold.

PostgreSQL can store no NUL, and no other control character belongs in a username, a post or a
path; refusing them where requests are parsed makes them a 400 rather than a database error.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# C0 and C1 controls but tab, line feed and carriage return; DEL; lone surrogates (unencodable).
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_controls(value: str) -> bool:
    return _REFUSED.search(value) is not None


def without_controls(value: str) -> str:
    """`value` unchanged; a ValueError (a 400 where requests are parsed) if it holds a control character."""
    if has_controls(value):
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(without_controls)]
"""A `str` field, query or path parameter that refuses control characters."""
