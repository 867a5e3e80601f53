"""Text a client sends: any character but the controls, bar the whitespace a body may hold.

PostgreSQL can store no NUL, and no other control character belongs in a username, a post or a
path; refusing them where requests are parsed makes them a 400 rather than a database error.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# C0 and C1 controls but tab, line feed and carriage return; DEL; lone surrogates (unencodable).
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_controls(value: str) -> bool:
    return _REFUSED.search(value) is not None


def without_controls(value: str) -> str:
    """`value` unchanged; a ValueError (a 400 where requests are parsed) if it holds a control character."""
    if has_controls(value):
        raise ValueError("control characters are not allowed")
    return value


# The refused characters as a JSON Schema class body (\uXXXX escapes read the same in ECMA and Python
# regexes); lone surrogates are left out: valid UTF-8 JSON can't carry them.
REFUSED_CLASS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
TEXT_PATTERN = rf"^[^{REFUSED_CLASS}]*$"


class _DocumentedAsText:
    """Puts TEXT_PATTERN into the field's JSON Schema, unless the field declares a stricter pattern."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema.setdefault("pattern", TEXT_PATTERN)
        return schema


Text = Annotated[str, AfterValidator(without_controls), _DocumentedAsText()]
"""A `str` field, query or path parameter that refuses control characters (and says so in its schema)."""
