"""Per-step losses, kept on the device and read a few at a time.

Reading a loss with `.item()` after every step would make the CPU wait for the GPU; so the
losses of the last few steps wait in a list as 0-d tensors and are read together (one
synchronisation) when a step event is due, at the end of an epoch, or on a pause. The read
also finds the first step whose loss was NaN or infinite, so the failure names it exactly.
"""

from __future__ import annotations

import math
import time

import torch

from workbench.training.distributed import all_reduce_sum
from workbench.training.failures import NonFiniteLoss

__all__ = ["StepLog"]


class StepLog:
    def __init__(self, world_size: int = 1) -> None:
        self.world_size = world_size
        self.losses: list[torch.Tensor] = []
        self.sizes: list[int] = []
        self.loss_sum = 0.0  # this epoch so far: sum of loss x samples
        self.samples = 0  # this epoch so far, on this rank
        self._mark = time.perf_counter()

    def start_epoch(self, loss_sum: float = 0.0, samples: int = 0) -> None:
        self.losses.clear()
        self.sizes.clear()
        self.loss_sum, self.samples = loss_sum, samples
        self._mark = time.perf_counter()

    def restart_clock(self) -> None:
        """Time from now on (after a validation: samples/s counts training time only)."""
        self._mark = time.perf_counter()

    def add(self, loss: torch.Tensor, n: int) -> None:
        self.losses.append(loss)
        self.sizes.append(n)

    def flush(self, step: int, epoch: int, batch: int) -> dict | None:
        """Read the waiting losses. `step`/`batch` count the last one (from 1).

        Returns {"loss", "samples", "samples_per_s"} for the window, or None when empty.
        """
        if not self.losses:
            return None
        values_t = torch.stack(self.losses).float()
        if self.world_size > 1:
            all_reduce_sum(values_t)
            values_t /= self.world_size
        values = values_t.tolist()
        sizes = self.sizes
        for i, value in enumerate(values):
            if not math.isfinite(value):
                back = len(values) - 1 - i
                raise NonFiniteLoss(value, step - back, epoch, batch - back)
        window_samples = sum(sizes)
        window_sum = sum(v * n for v, n in zip(values, sizes))
        self.loss_sum += window_sum
        self.samples += window_samples
        now = time.perf_counter()
        elapsed = max(now - self._mark, 1e-9)
        self._mark = now
        self.losses.clear()
        self.sizes.clear()
        return {
            "loss": window_sum / window_samples,
            "samples": window_samples,
            "samples_per_s": window_samples * self.world_size / elapsed,
        }

    @property
    def epoch_loss(self) -> float:
        return self.loss_sum / self.samples if self.samples else float("nan")
