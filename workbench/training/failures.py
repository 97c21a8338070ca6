"""Turning whatever went wrong during training into one clear message.

The Trainer catches every exception at the top of `fit`, passes it through `explain`,
and ends the run in state "failed" with the message. Nothing here costs anything while
training goes well: the layer that raised is found afterwards, by walking the
traceback for the submodule (named after its node id) whose frame it passed through.
"""

from __future__ import annotations

import errno
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.training.config import ConfigError

if TYPE_CHECKING:  # the run folder and `workbench runs` use these errors without importing torch
    import torch
    from torch import nn

__all__ = [
    "TrainingFailure",
    "NonFiniteLoss",
    "DataReadError",
    "RunWriteError",
    "CheckpointWriteError",
    "kept_note",
    "explain",
    "failing_node",
]


class TrainingFailure(Exception):
    """A run ended early; `kind` is one of nan_loss, out_of_memory, data, layer, checkpoint,
    write (another run-folder file), config, error."""

    def __init__(self, kind: str, message: str, node_id: str | None = None, details: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.node_id = node_id
        self.details = details  # a traceback for the run folder's error.log


class NonFiniteLoss(Exception):
    def __init__(self, value: float, step: int, epoch: int, batch: int) -> None:
        super().__init__(f"the loss became {value} at step {step} (epoch {epoch}, batch {batch})")
        self.value, self.step, self.epoch, self.batch = value, step, epoch, batch


class DataReadError(Exception):
    """Reading a batch failed (`__cause__` holds the error from the dataset)."""

    def __init__(self, split: str, error: BaseException) -> None:
        super().__init__(f"{split}: {error}")
        self.split = split
        self.error = error


class RunWriteError(Exception):
    """Writing a file of the run folder (metrics.jsonl, a checkpoint, the weights) failed."""

    def __init__(self, path, error: OSError) -> None:
        super().__init__(f"{path}: {error}")
        self.path = path
        self.error = error


class CheckpointWriteError(RunWriteError):
    """Writing checkpoint.pt, best.pt or final.pt failed (the previous file is untouched)."""


# errors that more free space (or quota) cures
DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def kept_note(saved: tuple[int, int] | None, error: OSError | None = None) -> str:
    """What a run that could not write can still do, from the checkpoint really on disk
    (`saved`: its (epoch, batch) as read back from the file; None: there is none)."""
    remedy = "free some disk space" if error is not None and error.errno in DISK_FULL else "fix the cause"
    if saved is None:
        return f"no checkpoint was saved, so the run cannot resume: {remedy} and train again"
    epoch, batch = saved
    where = f"epoch {epoch}, batch {batch}" if batch else f"epoch {epoch}"
    return f"the previous checkpoint is intact (checkpoint.pt holds {where}): {remedy} and resume the run"


def explain(exc: BaseException, model: nn.Module | None = None, batch_size: int | None = None,
            device: torch.device | None = None, saved: tuple[int, int] | None | bool = False) -> TrainingFailure:
    """`saved`: the (epoch, batch) of the run's checkpoint as read back from disk, None when
    it has none, False when there is no run folder; write failures say what it holds."""
    if isinstance(exc, TrainingFailure):
        return exc
    details = "".join(traceback.format_exception(exc))
    if isinstance(exc, ConfigError):
        return TrainingFailure("config", str(exc), details=details)
    if isinstance(exc, NonFiniteLoss):
        return TrainingFailure(
            "nan_loss",
            f"{exc}; lower the learning rate, add gradient clipping (training.grad_clip), or check the data "
            f"for NaN/Inf values",
            details=details,
        )
    if isinstance(exc, RunWriteError):
        kind = "checkpoint" if isinstance(exc, CheckpointWriteError) else "write"
        return TrainingFailure(kind, _write_message(exc.path, exc.error, saved), details=details)
    if isinstance(exc, DataReadError):
        inner = exc.error
        what = getattr(inner, "filename", None)
        reason = getattr(inner, "strerror", None) or _one_line(inner)
        where = f" ({what})" if what else ""
        return TrainingFailure(
            "data",
            f"could not read the {exc.split} data{where}: {reason}. Check that the dataset files are still "
            f"there and readable",
            details=details,
        )
    if _from_compile(exc):
        return TrainingFailure(
            "config",
            f"torch.compile could not compile the model ({_one_line(getattr(exc, 'inner_exception', None) or exc)}); "
            f"set training.compile to false to train without it",
            details=details,
        )
    if _out_of_memory(exc):
        where = f" on {device}" if device is not None else ""
        smaller = f" such as {max(1, batch_size // 2)} (--batch-size {max(1, batch_size // 2)})" if batch_size else ""
        size = f" with batch size {batch_size}" if batch_size else ""
        _free_cached_memory()
        return TrainingFailure(
            "out_of_memory",
            f"out of memory{where}{size}; try a smaller batch size{smaller} or a smaller model",
            details=details,
        )
    node = failing_node(exc, model) if model is not None else None
    summary = _one_line(exc)
    if node is not None:
        return TrainingFailure("layer", f"layer {node!r} raised {summary}", node_id=node, details=details)
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:  # a callback's own file (evaluation.json...)
        return TrainingFailure("write", _write_message(exc.filename or "a file", exc, saved), details=details)
    if isinstance(exc, OSError):
        return TrainingFailure("data", f"could not read or write a file: {summary}", details=details)
    return TrainingFailure("error", f"training stopped by an error: {summary}", details=details)


def _write_message(path, error: OSError, saved) -> str:
    name = Path(str(path)).name or str(path)
    message = f"could not write {name}: {error.strerror or error}"
    return message if saved is False else f"{message}; {kept_note(saved, error)}"


def failing_node(exc: BaseException, model: nn.Module) -> str | None:
    """The node id of the top-level submodule whose forward the exception passed through."""
    children = {id(module): name for name, module in model.named_children()}
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if owner is not None and id(owner) in children:
            return children[id(owner)]
        tb = tb.tb_next
    return None


def _from_compile(exc: BaseException) -> bool:
    """Whether torch.compile (dynamo or its backend) raised: only possible once it is loaded."""
    dynamo = sys.modules.get("torch._dynamo.exc")
    return dynamo is not None and isinstance(exc, dynamo.TorchDynamoException)


def _out_of_memory(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")  # only a loaded torch runs out of memory
    return torch is not None and isinstance(exc, torch.OutOfMemoryError)


def _one_line(exc: BaseException) -> str:
    text = [line for line in str(exc).strip().splitlines() if line.strip()]
    if text and text[0].startswith("Caught ") and "DataLoader worker" in text[0]:
        return text[-1].strip()  # re-raised from a loader worker: the original error is the last line
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _free_cached_memory() -> None:
    import torch

    if torch.cuda.is_available():
        try:
            torch.cuda.empty_cache()
        except RuntimeError:
            pass
