"""The step clock of benchmarks/ui_latency.py, in a module of its own so that the GUI can
pickle it to its training process (a class defined in `__main__` would not unpickle there)."""

from __future__ import annotations

import statistics
import time

from workbench.training.callbacks import Callback


class StepTimer(Callback):
    """Intervals between consecutive optimizer steps within each epoch (seconds); at the end
    of the run it emits a "step_timer" event with their median, so a timer running in the
    training process reports back over the event stream."""

    def __init__(self) -> None:
        self.intervals: list[float] = []
        self._last: float | None = None

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self._last = None

    def on_batch_end(self, trainer, batch: int, loss) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.intervals.append(now - self._last)
        self._last = now

    def on_fit_end(self, trainer, result) -> None:
        if self.intervals:
            trainer.emit("step_timer", median_s=self.median, count=len(self.intervals))

    @property
    def median(self) -> float:
        return statistics.median(self.intervals)
