"""Loss functions and how model outputs meet targets for each task.

    classification  CrossEntropyLoss / NLLLoss: logits [N, C] vs int64 [N]
                    BCEWithLogitsLoss: one logit [N, 1] (or [N]) vs a 0/1 class index,
                    or [N, C] vs float multi-hot [N, C]
    sequence        logits [N, T, C] vs int64 [N, T] (both flattened to positions)
    regression      MSELoss / L1Loss / SmoothL1Loss: [N, k] vs float [N, k]
    reconstruction  the same losses, output vs the input it reconstructs

A causal language model (training.objective "causal_lm", or a data source that declares
its windows next-token pairs) is the "sequence" case with the data's padding id as
ignore_index: its loss is the mean cross-entropy per real token, so exp(loss) is the
perplexity. `choose_objective` makes that choice from the settings and the data.

`Objective` holds the choice made once before training: a `torch.nn.functional` call
(no module dispatch) and at most one reshape per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
from torch.nn import functional as F

from workbench.core.tensors import TensorInfo

__all__ = ["Objective", "ObjectiveError", "make_objective", "choose_objective", "pad_id"]

MULTICLASS, BINARY, MULTILABEL, REGRESSION = "multiclass", "binary", "multilabel", "regression"
_CLASS_LOSSES = ("CrossEntropyLoss", "NLLLoss")
_REGRESSION_LOSSES = {"MSELoss": F.mse_loss, "L1Loss": F.l1_loss, "SmoothL1Loss": F.smooth_l1_loss}


class ObjectiveError(Exception):
    """The loss does not fit the task or the output; the message says what to change."""


@dataclass
class Objective:
    name: str  # the loss's torch.nn name
    kind: str  # multiclass | binary | multilabel | regression
    task: str
    target_dtype: torch.dtype
    compute: Callable  # (output, target) -> loss; a torch.nn.functional call, no module overhead
    ignore_index: int | None = None
    pos_weight: torch.Tensor | None = None
    causal_lm: bool = False  # per-token metrics: perplexity, token accuracy

    def __call__(self, output, target):
        return self.compute(output, target)

    def to(self, device) -> "Objective":
        if self.pos_weight is not None:
            self.pos_weight = self.pos_weight.to(device)
        return self

    def flat(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Output and target as the metrics see them: [M, C] vs [M] or [M, ...] vs [M, ...]."""
        if self.kind == MULTICLASS:
            return output.reshape(-1, output.shape[-1]), target.reshape(-1)
        if self.kind == BINARY:
            return output.reshape(-1), target.reshape(-1)
        return output.reshape(output.shape[0], -1), target.reshape(target.shape[0], -1)


def make_objective(spec: dict, task: str, output: TensorInfo) -> Objective:
    name = spec["type"]
    params = {k: v for k, v in spec.items() if k != "type"}
    width = output.shape[-1] if output.shape else 1
    if name in _CLASS_LOSSES:
        if task not in ("classification", "sequence"):
            raise ObjectiveError(f"{name} needs class labels, but the data is a {task} task; "
                                 f"use MSELoss, L1Loss or SmoothL1Loss")
        want = 1 if task == "classification" else 2
        if len(output.shape) != want:
            shape = "[N, C]" if want == 1 else "[N, T, C]"
            raise ObjectiveError(f"{name} on a {task} task needs the output shaped {shape}, got {output}")
        ignore = int(params["ignore_index"]) if "ignore_index" in params else None
        kwargs = {"ignore_index": ignore} if ignore is not None else {}
        if name == "CrossEntropyLoss":
            if params.get("label_smoothing"):
                kwargs["label_smoothing"] = float(params["label_smoothing"])
            fn = partial(F.cross_entropy, **kwargs) if kwargs else F.cross_entropy
        else:
            fn = partial(F.nll_loss, **kwargs) if kwargs else F.nll_loss
        if task == "classification":
            compute = fn
        else:
            def compute(out, target, _fn=fn):
                return _fn(out.reshape(-1, out.shape[-1]), target.reshape(-1))
        return Objective(name, MULTICLASS, task, torch.int64, compute, ignore)
    if name == "BCEWithLogitsLoss":
        if task not in ("classification", "regression"):
            raise ObjectiveError(f"BCEWithLogitsLoss needs 0/1 labels; the data is a {task} task")
        pw = params.get("pos_weight")
        objective = Objective(name, BINARY if task == "classification" else MULTILABEL, task, torch.float32, None,
                              pos_weight=torch.tensor(float(pw)) if pw is not None else None)
        if task == "classification" and (width != 1 or len(output.shape) > 1):
            raise ObjectiveError(f"BCEWithLogitsLoss on class labels needs one logit per sample ([N, 1]), "
                                 f"got {output}; use CrossEntropyLoss for {width} classes")

        def compute(out, target, _o=objective):
            if out.shape != target.shape:  # one logit [N, 1] against labels [N]
                out = out.reshape(target.shape)
            return F.binary_cross_entropy_with_logits(out, target, pos_weight=_o.pos_weight)

        objective.compute = compute
        return objective
    if name in _REGRESSION_LOSSES:
        if task in ("classification", "sequence"):
            raise ObjectiveError(f"{name} compares numbers, but the data has class labels; use CrossEntropyLoss")
        fn = _REGRESSION_LOSSES[name]
        if name == "SmoothL1Loss" and "beta" in params:
            fn = partial(fn, beta=float(params["beta"]))

        def compute(out, target, _fn=fn):
            if out.shape != target.shape:
                out = out.reshape(target.shape)
            return _fn(out, target)

        return Objective(name, REGRESSION, task, torch.float32, compute)
    raise ObjectiveError(f"unknown loss {name!r}")


def pad_id(bundle) -> int | None:
    """The data's padding token id: its tokenizer's pad_id, else the source's "pad_index", else None."""
    extra = bundle.extra or {}
    value = getattr(extra.get("tokenizer"), "pad_id", None)
    if value is None:
        value = extra.get("pad_index")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def choose_objective(cfg, bundle, output: TensorInfo) -> Objective:
    """The objective of a run: `cfg.loss` on `bundle.task`, as a causal LM when the settings
    (training.objective) or the data (extra["objective"]) ask for one."""
    wanted = cfg.objective if cfg.objective != "auto" else (bundle.extra or {}).get("objective", "auto")
    if wanted != "causal_lm":
        return make_objective(cfg.loss, bundle.task, output)
    name = cfg.loss["type"]
    if bundle.task != "sequence":
        raise ObjectiveError(f"training.objective: causal_lm needs next-token data (a \"sequence\" task of "
                             f"token windows), but the data is a {bundle.task} task")
    if name not in _CLASS_LOSSES:
        raise ObjectiveError(f"training.objective: causal_lm trains with CrossEntropyLoss, not {name}")
    spec = dict(cfg.loss)
    pad = pad_id(bundle)
    if "ignore_index" not in spec and pad is not None:
        spec["ignore_index"] = pad
    objective = make_objective(spec, "sequence", output)
    objective.causal_lm = True
    return objective
