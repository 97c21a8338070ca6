"""User values as they appear in messages: never more than a line's worth.

A project file may hold a 50 MB string or a 5,000-digit number where a layer size
belongs; echoing it whole would bury the one line that says what is wrong.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LIMIT", "describe", "shorten"]

LIMIT = 200


def shorten(text: str, limit: int = LIMIT) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def describe(value: Any, limit: int = LIMIT) -> str:
    """repr() of a user value, cut to `limit` characters; costs O(limit) for long text."""
    if isinstance(value, str) and len(value) > limit:
        return shorten(repr(value[:limit]), limit)
    if isinstance(value, (list, tuple, dict)) and len(value) > limit:
        value = list(value)[:limit] if not isinstance(value, dict) else dict(list(value.items())[:limit])
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        text = f"a {value.bit_length()}-bit number" if isinstance(value, int) else f"a {type(value).__name__}"
    return shorten(text, limit)
