"""Weights files: the checkpoint format, safe loading, and fitting a state dict to a model.

The format (the Trainer writes it, export and resume read it):

* A **checkpoint** is a dict saved with `torch.save` and loadable with
  `torch.load(path, weights_only=True)`: its `"model"` key holds the model's state dict
  (parameter/buffer name -> tensor, the names being the compiled GraphModule's, i.e.
  node ids: `"conv1.weight"`); any other keys (`"optimizer"`, `"epoch"`, `"metrics"`, ...)
  must themselves be weights_only-loadable (tensors, numbers, strings, lists, dicts).
  `save_checkpoint` writes one atomically.
* A **run folder** holds `best.pt` and/or `final.pt` (checkpoints of the same shape) and
  `checkpoint.pt` (the latest, for resuming). Weights are taken from the first that
  exists of `best.pt`, `final.pt`, `checkpoint.pt` (`RUN_FILES`).
* A **plain state-dict file** is `torch.save(model.state_dict(), path)`.

Loading never runs code: every file goes through `torch.load(weights_only=True)`, so a
file holding other pickled objects is refused (`WeightsError`) before any of it executes.
A state dict is checked against the model before it is loaded, and the error says which
keys are missing, unexpected or of the wrong shape.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from workbench.core.project import atomic_write_bytes

__all__ = [
    "RUN_FILES",
    "LoadedWeights",
    "WeightsError",
    "apply_state_dict",
    "check_state_dict",
    "find_weights_file",
    "load_checkpoint",
    "load_weights",
    "read_weights_file",
    "save_checkpoint",
    "tied_keys",
]

RUN_FILES = ("best.pt", "final.pt", "checkpoint.pt")  # preference order inside a run folder
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel, torch.compile
_SHOW = 3  # how many keys an error lists per kind


class WeightsError(ValueError):
    """A weights file cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class LoadedWeights:
    state_dict: dict[str, torch.Tensor]
    path: Path  # the file actually read (inside a run folder: best.pt, ...)
    kind: str  # "checkpoint" or "state dict"
    epoch: int | None = None

    def describe(self) -> str:
        epoch = f", epoch {self.epoch}" if self.epoch is not None else ""
        return f"{self.kind} {self.path}{epoch}"


def save_checkpoint(path: str | os.PathLike, model_state: Mapping[str, torch.Tensor], **extra: Any) -> Path:
    """Write a checkpoint `{"model": model_state, **extra}` atomically."""
    if "model" in extra:
        raise TypeError("pass the model's state dict as model_state, not as extra['model']")
    buffer = io.BytesIO()
    torch.save({"model": dict(model_state), **extra}, buffer)
    target = Path(path)
    atomic_write_bytes(target, buffer.getvalue())
    return target


def find_weights_file(path: str | os.PathLike) -> Path:
    """The file to read for `path`: itself, or the preferred checkpoint of a run folder."""
    path = Path(path)
    if path.is_dir():
        for name in RUN_FILES:
            candidate = path / name
            if candidate.is_file():
                return candidate
        raise WeightsError(
            f"{path}: a run folder must contain {', '.join(RUN_FILES)} (first found is used); none is there"
        )
    if not path.exists():
        raise WeightsError(f"{path}: no such file or folder")
    return path


def read_weights_file(path: str | os.PathLike) -> Any:
    """`torch.load(path, weights_only=True)` on CPU, with errors a user can read."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the error says more
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found:
            raise WeightsError(
                f"{path}: refused: the file contains pickled Python objects ({found.group(1)}), not just tensors, "
                "and loading them could run code; save weights with torch.save(model.state_dict(), path) or a "
                "checkpoint dict"
            ) from None
        operand = re.search(r"Unsupported operand (\d+)", str(exc))
        detail = f"unsupported pickle operand {operand.group(1)}" if operand else _first_line(exc)
        raise WeightsError(f"{path}: not a PyTorch weights file that loads safely ({detail})") from None
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # truncated zip, an empty file, ...
        raise WeightsError(f"{path}: not a PyTorch weights file ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


def load_checkpoint(path: str | os.PathLike) -> dict:
    """The whole checkpoint dict (for resuming a run); refuses anything else."""
    path = find_weights_file(path)
    data = read_weights_file(path)
    if not (isinstance(data, dict) and isinstance(data.get("model"), Mapping)):
        raise WeightsError(f"{path}: not a checkpoint (expected a dict with a 'model' state dict)")
    return data


def load_weights(path: str | os.PathLike) -> LoadedWeights:
    """A state dict from a run folder, a checkpoint or a plain state-dict file."""
    file = find_weights_file(path)
    data = read_weights_file(file)
    kind, epoch = "state dict", None
    if isinstance(data, Mapping) and "model" in data and isinstance(data["model"], Mapping):
        kind = "checkpoint"
        epoch = data.get("epoch") if isinstance(data.get("epoch"), int) else None
        data = data["model"]
    if not isinstance(data, Mapping) or not data:
        raise WeightsError(
            f"{file}: holds {_describe(data)}, not weights: expected a state dict (name -> tensor) "
            "or a checkpoint dict with a 'model' key"
        )
    bad = [str(k) for k, v in data.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise WeightsError(f"{file}: not a state dict: {_few(bad)} {'is' if len(bad) == 1 else 'are'} not tensors")
    return LoadedWeights(_strip_wrappers(dict(data)), file, kind, epoch)


def check_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raise WeightsError listing missing, unexpected and mis-shaped keys (a few of each).

    Tied weights (one parameter under several keys) need only one of their keys in the file,
    and where the file holds several they must agree."""
    expected = model.state_dict()
    groups = tied_keys(model)
    missing = [k for k in expected if k not in state_dict and not any(o in state_dict for o in groups.get(k, ()))]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [
        f"{k} is {list(state_dict[k].shape)} in the file but {list(v.shape)} in the model"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} key(s): {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} key(s): {_few(unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es): {_few(mismatched, sep='; ')}")
    if not mismatched:
        problems.extend(_tie_conflicts(groups, state_dict))
    if problems:
        raise WeightsError("the weights do not fit this model: " + "; ".join(problems))


def apply_state_dict(model: nn.Module, weights: LoadedWeights | Mapping[str, torch.Tensor]) -> None:
    """Check, then load strictly (dtypes are converted to the model's)."""
    state = weights.state_dict if isinstance(weights, LoadedWeights) else dict(weights)
    try:
        check_state_dict(model, state)
    except WeightsError as exc:
        if isinstance(weights, LoadedWeights):
            raise WeightsError(f"{weights.path}: {exc}") from None
        raise
    state = dict(state)
    for key, others in tied_keys(model).items():  # a tied key the file left out: its twin's tensor
        if key not in state:
            state[key] = next(state[o] for o in others if o in state)
    model.load_state_dict(state, strict=True)


def tied_keys(model: nn.Module) -> dict[str, tuple[str, ...]]:
    """State-dict key -> the other keys naming the same parameter (weight tying); untied keys absent."""
    by_tensor: dict[int, list[str]] = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        by_tensor.setdefault(id(tensor), []).append(key)
    return {k: tuple(o for o in keys if o != k) for keys in by_tensor.values() if len(keys) > 1 for k in keys}


def _tie_conflicts(groups: dict[str, tuple[str, ...]], state: Mapping[str, torch.Tensor]) -> list[str]:
    problems, seen = [], set()
    for key, others in groups.items():
        present = [k for k in (key, *others) if k in state]
        if key in seen or len(present) < 2:
            continue
        seen.update(present)
        if not all(torch.equal(state[present[0]], state[k].to(state[present[0]].dtype)) for k in present[1:]):
            problems.append(f"{' and '.join(present)} are one tied weight in this model but differ in the file")
    return problems


def _strip_wrappers(state: dict) -> dict:
    """Undo the key prefix DDP or torch.compile adds when every key carries it."""
    for prefix in _WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def _few(items: list[str], sep: str = ", ") -> str:
    shown = sep.join(items[:_SHOW])
    return shown + (f" (and {len(items) - _SHOW} more)" if len(items) > _SHOW else "")


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an empty dict" if not value else f"a dict with keys {_few([str(k) for k in value])}"
    if isinstance(value, torch.Tensor):
        return f"a single tensor of shape {list(value.shape)}"
    return f"a {type(value).__name__}"
