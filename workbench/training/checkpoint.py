"""Checkpoint files: `torch.save`d dicts of tensors and plain values, written atomically.

Every file loads with `torch.load(path, weights_only=True)`: no pickled classes, so
opening a checkpoint never runs code. Layout (format "workbench-checkpoint", version 1):

    model        the model's state dict (node-id keys, as the compiled GraphModule names them)
    optimizer, scheduler, scaler     their state dicts (scheduler None when there is none)
    epoch        epochs completed; batch: batches of the next epoch already done (a run
                 stopped mid-epoch), with partial: {"loss_sum", "samples"} for that epoch
    step         optimizer steps taken
    rng          {"torch", "cuda", "python", "numpy"} generator states
    metrics      the last epoch's figures; best: {"metric", "mode", "value", "epoch"}
    early_stopping, config (the training settings), project, input_names, output_names,
    world_size, torch (version)

`best.pt` and `final.pt` hold the same header with "model", "epoch", "step" and "metrics"
only. Export reads the "model" entry of any of them.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch

from workbench.core.project import atomic_write_bytes
from workbench.training import distributed
from workbench.training.failures import CheckpointWriteError

__all__ = ["FORMAT", "VERSION", "CheckpointError", "save", "load", "saved_position", "rng_state", "set_rng_state",
           "training_state", "weights_state", "restore_training_state"]

FORMAT = "workbench-checkpoint"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint cannot be read or does not belong to this project."""


def save(path: Path, payload: dict) -> None:
    """Write atomically: a crash or a full disk leaves the previous file as it was."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **payload}, buffer)
    try:
        atomic_write_bytes(Path(path), buffer.getvalue())
    except OSError as exc:
        raise CheckpointWriteError(Path(path).name, exc) from exc


def load(path: Path) -> dict:
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # a truncated or foreign file: pickle/zip errors of many kinds
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Model Workbench checkpoint")
    if payload.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: written by a newer Model Workbench (checkpoint version "
                              f"{payload.get('version')}); update the app to resume it")
    return payload


def saved_position(path: Path) -> tuple[int, int] | None:
    """(epochs done, batches of the next epoch) recorded inside the checkpoint at `path`, read
    back from the file; None when there is no readable checkpoint. What a failed run can
    honestly say it kept: never what it meant to save."""
    try:
        payload = load(path)
    except CheckpointError:
        return None
    epoch, batch = payload.get("epoch"), payload.get("batch") or 0
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (epoch, batch)):
        return None
    return epoch, batch


def rng_state() -> dict:
    state = {
        "torch": torch.get_rng_state(),
        "python": _listify(random.getstate()),
        "numpy": _numpy_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    py = state.get("python")
    if py is not None:
        random.setstate((py[0], tuple(py[1]), py[2]))
    np_state = state.get("numpy")
    if np_state is not None:
        np.random.set_state((np_state["kind"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                             np_state["has_gauss"], np_state["cached_gaussian"]))
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def _numpy_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def _listify(value):
    if isinstance(value, tuple):
        return [_listify(v) for v in value]
    return value


# -- a Trainer's state --------------------------------------------------------------------

def _header(trainer) -> dict:
    """What every file of a run says about the model."""
    return {
        "project": trainer.project_name,
        "input_names": list(getattr(trainer.model, "input_names", ())),
        "output_names": list(getattr(trainer.model, "output_names", ())),
        "torch": str(torch.__version__),
    }


def weights_state(trainer) -> dict:
    """best.pt / final.pt: the weights and where they came from."""
    return {**_header(trainer), "model": distributed.model_state(trainer.model), "epoch": trainer.epoch,
            "step": trainer.step,
            "metrics": _plain(trainer.last_metrics)}


def training_state(trainer, epoch_done: int, batch: int = 0) -> dict:
    """checkpoint.pt: everything a Trainer needs to continue exactly."""
    log = trainer.steplog
    return {
        **_header(trainer),
        "model": distributed.model_state(trainer.model),
        "optimizer": distributed.optimizer_state(trainer.model, trainer.optimizer),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "scaler": trainer.scaler.state_dict(),
        "epoch": epoch_done,
        "batch": batch,
        "step": trainer.step,
        "partial": {"loss_sum": log.loss_sum, "samples": log.samples} if batch else None,
        "rng": rng_state(),
        "metrics": _plain(trainer.last_metrics),
        "best": dict(trainer.best) if trainer.best else None,
        "early_stopping": trainer.early_stopping.state_dict() if trainer.early_stopping else None,
        "config": _plain(trainer.config.__dict__),
        "world_size": trainer.dist.world_size,
    }


def restore_training_state(trainer, state: dict) -> None:
    """Put a Trainer (after its set-up) back where `state` left it."""
    distributed.load_optimizer_state(trainer.model, trainer.optimizer, state["optimizer"])
    if trainer.scheduler is not None and state.get("scheduler") is not None:
        trainer.scheduler.load_state_dict(state["scheduler"])
    if state.get("scaler"):
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.epoch, trainer.step = int(state["epoch"]), int(state["step"])
    trainer._skip = int(state.get("batch", 0))
    partial_ = state.get("partial") or {}
    trainer._resume_partial = (float(partial_.get("loss_sum", 0.0)), int(partial_.get("samples", 0)))
    trainer.last_metrics = dict(state.get("metrics") or {})
    if state.get("best") and state["best"].get("metric") == trainer.best["metric"]:
        trainer.best = dict(state["best"])
    if trainer.early_stopping is not None and state.get("early_stopping"):
        trainer.early_stopping.load_state_dict(state["early_stopping"])
    if trainer.dist.world_size == int(state.get("world_size", 1)) == 1:
        set_rng_state(state["rng"])
    else:  # a different process layout: a fresh, distinct stream per rank
        torch.manual_seed(trainer.config.seed + 1000 * trainer.epoch + trainer.dist.rank)


def _plain(value):
    """Only JSON-like values (what weights_only loading accepts without allow-listing)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
