"""Whether a process still runs, by pid: how a recovery file or a sweep's trial tells a
live owner from one that crashed."""

from __future__ import annotations

import os

__all__ = ["pid_alive"]


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists (also one of another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:  # not a pid at all
        return False
    return True
