"""DataError on its own, so paths, params and the download check load without torch."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(Exception):
    """The data cannot be used as configured; the message says what to change."""
