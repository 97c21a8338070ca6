"""How `workbench train` shows a run: a progress bar on a terminal, plain lines in a log,
one JSON object per event with --json. A callback like any other.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import TextIO

from workbench.training.callbacks import Callback

__all__ = ["ConsolePrinter", "JsonPrinter", "format_duration", "format_metrics"]



def format_duration(seconds: float | None, unknown: str = "?") -> str:
    if seconds is None or not math.isfinite(seconds):
        return unknown
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_metrics(metrics: dict) -> str:
    parts = []
    for key in ("train_loss", "train_perplexity", "val_loss", "val_perplexity", "val_accuracy", "val_token_accuracy",
                "val_top5_accuracy", "val_mae", "val_rmse"):
        value = metrics.get(key)
        if value is None:
            continue
        parts.append(f"{key} {value:.2%}" if "accuracy" in key else f"{key} {value:.4g}")
    return "  ".join(parts)


def _per_step(event: dict) -> str:
    k = event.get("accumulate_steps") or 1
    return f" x {k} batches per step" if k > 1 else ""


def _budget(event: dict) -> str:
    parts = [f"at most {event['max_steps']:,} steps"] if event.get("max_steps") else []
    if event.get("eval_every"):
        parts.append(f"validation every {event['eval_every']:,} steps")
    return f" ({', '.join(parts)})" if parts else ""


class _Printer(Callback):
    """Writes to a stream; a closed pipe (`workbench train ... | head`) silences it, nothing more."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.closed = False

    def write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
            self.closed = True
            _silence(self.stream)


def _silence(stream) -> None:
    """Point the process's stdout at /dev/null so the interpreter's exit flush does not fail too."""
    if stream is sys.stdout:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass


class _Guarded:
    """tqdm's file: writes go through the printer, so a closed pipe silences the bar too."""

    def __init__(self, printer: _Printer) -> None:
        self.printer = printer

    def write(self, text: str) -> None:
        self.printer.write(text)

    def flush(self) -> None:
        pass

    def __getattr__(self, name: str):  # encoding, isatty, fileno: tqdm sizes and styles the bar from them
        return getattr(self.printer.stream, name)


class JsonPrinter(_Printer):
    def on_event(self, trainer, event: dict) -> None:
        self.write(json.dumps(event, allow_nan=True) + "\n")


class ConsolePrinter(_Printer):
    """Human-readable progress; `bar=None` draws a live bar (tqdm) within each epoch only
    when the stream is a terminal, and plain lines otherwise (a log file)."""

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None) -> None:
        super().__init__(stream)
        self.bar = self.stream.isatty() if bar is None else bar
        self.epochs = 0
        self._progress = None  # the epoch's tqdm bar while one is drawn

    def _line(self, text: str) -> None:
        if self._progress is not None:  # a line ends the epoch's bar; the next step starts a new one
            self._progress.close()
            self._progress = None
        self.write(text + "\n")

    def _step(self, event: dict) -> None:
        from tqdm import tqdm

        if self._progress is None or self._progress.total != event["batches"]:
            self._progress = tqdm(total=event["batches"], desc=f"epoch {event['epoch']}/{self.epochs}",
                                  file=_Guarded(self), leave=False, unit="batch", dynamic_ncols=True,
                                  bar_format="{desc} {bar} {n_fmt}/{total_fmt}{postfix}")
        self._progress.n = event["batch"]
        self._progress.set_postfix_str(f"loss {event['loss']:.4g} {event['samples_per_s']:,.0f} samples/s "
                                       f"ETA {format_duration(event.get('eta_s'))}", refresh=False)
        self._progress.refresh()

    def on_event(self, trainer, event: dict) -> None:
        kind = event["event"]
        if kind == "fit_start":
            self.epochs = event["epochs"]
            amp = f", {event['amp']} mixed precision" if event["amp"] != "off" else ""
            procs = f" x {event['world_size']} processes" if event["world_size"] > 1 else ""
            self._line(
                f"training {event['project']} on {event['device']}{procs}{amp}: {event['parameters']:,} parameters, "
                f"{event['train_samples']:,} training / {event['val_samples']:,} validation samples, "
                f"batch size {event['batch_size']}{_per_step(event)}, {event['epochs']} epochs{_budget(event)}"
            )
            if event.get("run_dir"):
                self._line(f"run folder: {event['run_dir']}")
            self._line("(* after a line: the monitored metric improved, and those weights were saved as best.pt)")
        elif kind == "step" and self.bar:
            self._step(event)
        elif kind == "epoch":
            width = len(str(event["epochs"]))
            best = " *" if event.get("improved") else ""
            self._line(
                f"epoch {event['epoch']:>{width}}/{event['epochs']}  {format_metrics(event)}  lr {event['lr']:.3g}  "
                f"{event['seconds']:.1f}s  ETA {format_duration(event.get('eta_s'))}{best}"
            )
        elif kind == "validation":
            best = " *" if event.get("improved") else ""
            self._line(f"step {event['step']}  {format_metrics(event)}{best}")
        elif kind == "log":
            self._line(f"{event['level']}: {event['message']}")
        elif kind == "state" and event["state"] in ("paused", "resumed"):
            self._line(f"{event['state']}: {event['message']}")
        elif kind == "state" and event["state"] in ("completed", "stopped"):
            message = f": {event['message']}" if event.get("message") else ""
            self._line(f"{event['state']}{message}")
