"""The Trainer's event stream: plain dicts of JSON values, so they cross threads and processes.

Every event has "event" (its kind) and "time" (seconds since the epoch). Kinds:

    state      {"state", "message"}: idle -> starting -> running <-> paused ->
               completed | stopped | failed  (and "resumed" once, with "from_epoch");
               "failed" carries "node" (a node id) when the failure is known to come from one
    fit_start  {"epochs", "start_epoch", "start_batch", "start_step", "steps_per_epoch" (optimizer
               steps), "batches_per_epoch", "accumulate_steps", "max_steps", "eval_every" (null:
               per epoch only), "objective" ("causal_lm" or the loss), "batch_size", "train_samples",
               "val_samples", "device", "amp", "world_size", "parameters", "run_dir", "task"}
    step       {"step", "epoch", "batch", "batches", "loss", "lr", "samples_per_s", "eta_s", "run_eta_s"}
               (the mean loss of the steps since the last step event; "eta_s" to epoch end,
               "run_eta_s" to the end of the run)
    epoch      {"epoch", "epochs", "step", "train_loss", "val_loss", "val_accuracy" |
               "val_mae", ... every metric, "lr", "seconds", "samples_per_s", "eta_s",
               "improved"}  ("eta_s" to the end of the run; a causal LM has "train_perplexity",
               "val_perplexity", "val_token_accuracy"; after max_steps mid-epoch, a partial epoch)
    validation {"epoch", "step", "batch" (mid-epoch only), every val_* metric, "monitor", "improved"}
               each validation of a run with eval_every, at its global optimizer step
    confusion  {"epoch", "classes", "matrix"} at each validation of a classification task
    evaluation {"epoch", "task", "samples", ...} per-sample results of each validation, from
               the `Evaluation` callback when it is attached (fields: evaluation.py)
    checkpoint {"epoch", "path"}
    log        {"level", "message"}: warnings worth showing (e.g. AMP turned off)
    telemetry  {"step", "epoch", "every", "nodes": {node id: {"mean", "std", "min", "max", "zeros",
               "grad_norm", "finite"}}, "nonfinite": [node ids in execution order]} from the Telemetry callback
               (telemetry.py), one sampled step every "every"; a value that is NaN/Inf is None
               and its node has "finite": false; "grad_norm" is None for a node without parameters

The GUI attaches an `EventQueue` and drains its `queue.Queue` from a timer.
"""

from __future__ import annotations

import queue
import time

from workbench.training.callbacks import Callback

__all__ = ["STATES", "FINAL_STATES", "event", "EventQueue", "EventLog"]

STATES = ("idle", "starting", "running", "paused", "resumed", "completed", "stopped", "failed")
FINAL_STATES = ("completed", "stopped", "failed")


def event(kind: str, **fields) -> dict:
    fields["event"] = kind
    fields["time"] = time.time()
    return fields


class EventQueue(Callback):
    """Puts every event on a `queue.Queue` (thread-safe; never blocks the training loop)."""

    def __init__(self, q: queue.Queue | None = None) -> None:
        self.queue = q if q is not None else queue.Queue()

    def on_event(self, trainer, ev: dict) -> None:
        self.queue.put_nowait(ev)

    def drain(self, limit: int | None = None) -> list[dict]:
        """Take what is waiting without blocking (what a GUI timer calls)."""
        out: list[dict] = []
        while limit is None or len(out) < limit:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return out


class EventLog(Callback):
    """Keeps every event in a list (tests, and callers that want the history)."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def on_event(self, trainer, ev: dict) -> None:
        self.events.append(ev)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["event"] == kind]

    @property
    def states(self) -> list[str]:
        return [e["state"] for e in self.events if e["event"] == "state"]
