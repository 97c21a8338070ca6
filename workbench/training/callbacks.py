"""Hooks into the training loop, called in the order they were given to the Trainer.

A callback overrides only the hooks it needs. `on_batch_end` runs every step (and
`on_validation_batch` every validation batch), so the Trainer calls them only on callbacks
that override them, and passes the loss as a detached
tensor (reading it with `.item()` would wait for the GPU: do that sparingly).
`on_event` receives every event dict (see events.py); the CLI printer, the run folder and
the GUI queue are all just callbacks.
"""

from __future__ import annotations

__all__ = ["Callback", "CallbackList", "EarlyStopping"]

HOOKS = (
    "on_fit_start",
    "on_epoch_start",
    "on_batch_end",
    "on_validation_batch",
    "on_validation_end",
    "on_epoch_end",
    "on_fit_end",
    "on_exception",
    "on_event",
)


class Callback:
    def on_fit_start(self, trainer) -> None:
        """Before the first epoch (also on resume); the model and optimizer exist."""

    def on_epoch_start(self, trainer, epoch: int) -> None:
        """`epoch` counts from 1."""

    def on_batch_end(self, trainer, batch: int, loss) -> None:
        """After the optimizer step; `loss` is a detached 0-d tensor."""

    def on_validation_batch(self, trainer, inputs: tuple, output, target) -> None:
        """Each validation batch, in dataset order (no grad); `output` is the model's first output."""

    def on_validation_end(self, trainer, metrics: dict) -> None:
        """`metrics` holds the val_* figures of this epoch."""

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        """`metrics` holds every figure of this epoch; set `trainer.should_stop` to end the run."""

    def on_fit_end(self, trainer, result) -> None:
        """Always called last, whatever the outcome (`result.state`)."""

    def on_exception(self, trainer, error: BaseException) -> None:
        """The run is failing; `error` is the TrainingFailure that ends it."""

    def on_event(self, trainer, event: dict) -> None:
        """Every event of the stream, in order."""


class CallbackList:
    """Calls a hook on every callback that overrides it, in order."""

    def __init__(self, callbacks) -> None:
        self.callbacks = list(callbacks)
        self._by_hook = {
            hook: [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, hook)] for hook in HOOKS
        }

    def hooks(self, name: str) -> list:
        return self._by_hook[name]

    def call(self, name: str, *args) -> None:
        for hook in self._by_hook[name]:
            hook(*args)


def _overrides(cb: Callback, hook: str) -> bool:
    base = getattr(Callback, hook)
    return getattr(type(cb), hook, base) is not base


class EarlyStopping(Callback):
    """Ends the run when `metric` has not improved by `min_delta` for `patience` epochs."""

    def __init__(self, metric: str = "val_loss", mode: str = "min", patience: int = 5, min_delta: float = 0.0):
        self.metric, self.mode, self.patience, self.min_delta = metric, mode, patience, min_delta
        self.best: float | None = None
        self.bad_epochs = 0

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        value = metrics.get(self.metric)
        if value is None:
            available = ", ".join(k for k, v in metrics.items() if isinstance(v, float))
            raise ValueError(f"early stopping watches {self.metric!r}, which this run does not report "
                             f"(it reports: {available})")
        better = self.best is None or (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        )
        if better:
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            trainer.request_stop(
                f"early stopping: {self.metric} has not improved for {self.patience} epoch(s) (best {self.best:.6g})",
                completed=True,
            )

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad_epochs = state.get("best"), int(state.get("bad_epochs", 0))
