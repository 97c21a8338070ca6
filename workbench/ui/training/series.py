"""A growable pair of numpy buffers for live curves (pyqtgraph's scrollingPlots recipe).

Appending is amortised O(1): the buffers double when full, and `x`/`y` are views of the
filled part, handed to `setData` as they are (no copy of a million points per frame).
`Smoothed` keeps an exponential moving average of a Series up to date the same way: only
new points are smoothed, in numpy (`ema`), and a new weight re-smooths everything at once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Series", "Smoothed", "ema"]

BLOCK = 64  # points per block of the vectorised EMA


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


def ema(values, weight: float, start: float | None = None) -> np.ndarray:
    """y[i] = weight * y[i-1] + (1 - weight) * values[i], with y[-1] = `start` (values[0]
    when None). Vectorised in blocks of BLOCK points: one matrix product smooths every
    block from zero, and the value carried into each block is the same recurrence over
    the block ends (decay weight**BLOCK), solved recursively, so 10^6 points take a few
    milliseconds and no Python loop runs per point."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0 or weight <= 0.0:
        return x.copy()
    carry = float(x[0] if start is None else start)
    if n <= BLOCK:
        out = np.empty(n)
        for i, value in enumerate(x.tolist()):
            carry = weight * carry + (1.0 - weight) * value
            out[i] = carry
        return out
    blocks = np.zeros(-(-n // BLOCK) * BLOCK)
    blocks[:n] = x
    blocks = blocks.reshape(-1, BLOCK)
    powers = weight ** np.arange(BLOCK + 1, dtype=np.float64)
    lag = np.arange(BLOCK)[:, None] - np.arange(BLOCK)[None, :]
    kernel = np.where(lag >= 0, powers[np.clip(lag, 0, BLOCK)], 0.0)  # kernel[i, j] = weight**(i-j), j <= i
    local = (1.0 - weight) * (blocks @ kernel.T)  # each block smoothed from 0
    decay = powers[BLOCK]
    ends = local[:, -1]
    if decay > 0.0:  # the block ends: e[c] = decay * e[c-1] + ends[c], e[-1] = carry
        ends = ema(ends / (1.0 - decay), decay, carry)
    carries = np.concatenate(([carry], ends[:-1]))
    return (local + powers[1:][None, :] * carries[:, None]).reshape(-1)[:n]


class Smoothed:
    """The EMA of a Series' y values (x shared), extended as the Series grows. A point that
    is not finite (a NaN loss) is skipped by the average and left as a gap, so one bad
    step does not blank the rest of the curve."""

    def __init__(self, source: Series, weight: float = 0.0) -> None:
        self.source = source
        self.weight = weight
        self._y = np.empty(0)
        self.size = 0
        self._last: float | None = None  # the latest finite smoothed value

    def __len__(self) -> int:
        return self.size

    def set_weight(self, weight: float) -> None:
        self.weight = weight
        self.size = 0
        self._last = None

    def update(self) -> None:
        n = len(self.source)
        if n < self.size:  # the source was cleared
            self.set_weight(self.weight)
        if n == self.size:
            return
        if n > len(self._y):
            grown = np.empty(max(n, 2 * len(self._y), 1024))
            grown[: self.size] = self._y[: self.size]
            self._y = grown
        new = self.source.y[self.size:n]
        finite = np.isfinite(new)
        if not finite.any():
            self._y[self.size:n] = np.nan
            self.size = n
            return
        values = new[finite]
        smooth = ema(values, self.weight, self._last)
        self._last = float(smooth[-1])
        out = self._y[self.size:n]
        out[:] = np.nan
        out[finite] = smooth
        self.size = n

    @property
    def x(self) -> np.ndarray:
        return self.source.x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]
