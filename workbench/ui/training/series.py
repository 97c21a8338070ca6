"""A growable pair of numpy buffers for live curves (pyqtgraph's scrollingPlots recipe).

Appending is amortised O(1): the buffers double when full, and `x`/`y` are views of the
filled part, handed to `setData` as they are (no copy of a million points per frame).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Series"]


class Series:
    def __init__(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def append(self, x: float, y: float) -> None:
        if self.size == len(self._x):
            self._grow(self.size + 1)
        self._x[self.size] = x
        self._y[self.size] = np.nan if y is None else y
        self.size += 1

    def extend(self, xs, ys) -> None:
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        end = self.size + len(xs)
        if end > len(self._x):
            self._grow(end)
        self._x[self.size:end] = xs
        self._y[self.size:end] = ys
        self.size = end

    def clear(self) -> None:
        self.size = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]

    def _grow(self, needed: int) -> None:
        capacity = max(needed, 2 * len(self._x))
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.empty(capacity, dtype=np.float64)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)
