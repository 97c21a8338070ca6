"""Refuse a data set whose arrays cannot fit in this machine's RAM, before allocating them.

Sources that build whole arrays (generated data, encoded text) know the sample count and
the per-sample size before the first allocation; a project file asking for 10^11 samples
gets one line with the figure instead of a MemoryError traceback or the OOM killer.
"""

from __future__ import annotations

from workbench.core.size_budget import available_memory, format_size
from workbench.data.bundle import DataError

__all__ = ["WORKING_COPIES", "require_fits"]

# A generator holds a few arrays of the final size at once (coordinates, noise, the
# float64 result before its float32 copy, the split).
WORKING_COPIES = 4


def require_fits(n: int, sample_bytes: int, what: str, hint: str = "lower data.params.n") -> None:
    """DataError when `n` samples of `sample_bytes` each (times the working copies) exceed
    the RAM available now."""
    need = n * max(sample_bytes, 1) * WORKING_COPIES
    free, where = available_memory()
    if need > free:
        raise DataError(f"{n:,} {what} need about {format_size(need)} of memory; {where}: {hint}")
