"""What the model gets right and wrong on the validation set, sample by sample.

`Evaluation` is a Trainer callback. During each validation (the pass the Trainer already
runs: no second pass) it keeps a few numbers per sample on the device, reads them to
the host once at the end, and emits

    evaluation  {"epoch", "task": "classification", "samples", "seed", "classes",
                 "accuracy", "matrix" (rows true, columns predicted; None above
                 CONFUSION_LIMIT classes), "per_class": [{"name", "precision", "recall",
                 "f1", "support"}], "cells": [[true, pred, [index...], [confidence...]]]
                 (non-empty cells only, at most CELL_LIMIT samples each: mistakes most
                 confident first, correct answers least confident first), "worst": [{"index",
                 "true", "pred", "confidence", "loss"}] (up to WORST_LIMIT mistakes, most
                 confident first)}
    evaluation  {"epoch", "task": "regression", "samples", "seed", "columns", "mae",
                 "points": {"true", "pred", "index"} (every target value: k per sample for
                 k outputs; a seeded subsample of at most POINT_LIMIT), "worst": [{"index",
                 "true", "pred", "error"}] (largest mean absolute error first; values of
                 the first VALUE_LIMIT outputs)}

An index is the sample's position in the validation set (`bundle.val[index]`; the
validation order is never shuffled). Confidence is the predicted class's softmax (or
sigmoid) probability; loss is the cross-entropy of the true class. Precision of a class
never predicted is 0. The last evaluation is also written to `evaluation.json` in the
run folder so a past run can show it. Sequence, multi-label and reconstruction tasks
get no evaluation (no event): a per-position or per-pixel confusion has no samples to
show. Distributed runs are skipped too, since each process sees only its shard.
"""

from __future__ import annotations

import json
import math

import numpy as np
import torch
from torch.nn import functional as F

from workbench.core.project import atomic_write_text
from workbench.training.callbacks import Callback
from workbench.training.losses import BINARY, MULTICLASS, REGRESSION
from workbench.training.metrics import CONFUSION_LIMIT

__all__ = ["Evaluation", "EVALUATION_FILE", "evaluation_task", "read_evaluation"]

EVALUATION_FILE = "evaluation.json"
CELL_LIMIT = 48
WORST_LIMIT = 64
POINT_LIMIT = 2000
VALUE_LIMIT = 8


def evaluation_task(objective, task: str, distributed: bool = False) -> str | None:
    """"classification", "regression" or None (this run gets no evaluation)."""
    if distributed:
        return None
    if objective.kind in (MULTICLASS, BINARY) and task == "classification":
        return "classification"
    if objective.kind == REGRESSION and task == "regression":
        return "regression"
    return None


def read_evaluation(run_dir) -> dict | None:
    """A past run's last evaluation, or None when it has none (or it cannot be read)."""
    from pathlib import Path

    from workbench.core.jsonfile import read_regular

    try:
        return json.loads(read_regular(Path(run_dir) / EVALUATION_FILE))  # bounded; not a FIFO or device
    except (OSError, ValueError, RecursionError):
        return None


class Evaluation(Callback):
    def __init__(self) -> None:
        self.task: str | None = None
        self.epoch = 0
        self._rows: list[torch.Tensor] = []
        self.last: dict | None = None

    def on_fit_start(self, trainer) -> None:
        self.task = evaluation_task(trainer.objective, trainer.bundle.task, trainer.dist.enabled)
        self.binary = trainer.objective.kind == BINARY
        classes = trainer.bundle.classes
        self.num_classes = 2 if self.binary else (len(classes) if classes else 0)
        self.classes = [str(c) for c in classes] if classes else [str(i) for i in range(self.num_classes)]

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.epoch = epoch
        self._rows = []

    def on_validation_batch(self, trainer, inputs, output, target) -> None:
        if self.task is None:
            return
        out = output.detach().float()
        n = target.shape[0]
        if self.task == "regression":
            true = target.detach().float().reshape(n, -1)
            self._rows.append(torch.cat([true, out.reshape(true.shape)], 1))
            return
        true = target.detach().reshape(-1).long()
        if self.binary:
            logit = out.reshape(-1)
            pred = (logit > 0).long()
            p1 = torch.sigmoid(logit)
            confidence = torch.where(pred == 1, p1, 1 - p1)
            loss = F.binary_cross_entropy_with_logits(logit, true.float(), reduction="none")
        else:
            logp = out.reshape(n, -1).log_softmax(-1)
            top, pred = logp.max(-1)
            confidence = top.exp()
            c = logp.shape[-1]
            loss = -logp.gather(1, true.clamp(0, c - 1).unsqueeze(1)).squeeze(1)
        self._rows.append(torch.stack([true.double(), pred.double(), confidence.double(), loss.double()], 1))

    def on_validation_end(self, trainer, metrics: dict) -> None:
        if self.task is None or not self._rows:
            return
        rows = torch.cat(self._rows).cpu().numpy()  # the one host transfer of this validation
        self._rows = []
        common = {"epoch": self.epoch, "task": self.task, "samples": int(rows.shape[0]), "seed": trainer.config.seed}
        if self.task == "regression":
            k = rows.shape[1] // 2
            payload = {**common, **regression_summary(rows[:, :k], rows[:, k:], trainer.config.seed)}
        else:
            payload = {**common, **classification_summary(rows, self.classes)}
        self.last = payload
        trainer.emit("evaluation", **payload)
        if trainer.run is not None:
            try:
                atomic_write_text(trainer.run.path / EVALUATION_FILE, json.dumps(payload))
            except OSError as exc:
                trainer.emit("log", level="warning", message=f"cannot write {EVALUATION_FILE}: {exc}")


def classification_summary(rows: np.ndarray, classes: list[str]) -> dict:
    """rows [M, 4] = (true, pred, confidence, loss) per validation sample, in order."""
    c = len(classes)
    index = np.arange(rows.shape[0])
    true, pred = rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)
    valid = (true >= 0) & (true < c)  # a target equal to ignore_index has no class
    index, true, pred, confidence, loss = index[valid], true[valid], pred[valid], rows[valid, 2], rows[valid, 3]
    support = np.bincount(true, minlength=c)
    predicted = np.bincount(pred, minlength=c)
    hits = np.bincount(true[true == pred], minlength=c)
    precision = np.divide(hits, predicted, out=np.zeros(c), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros(c), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(c), where=precision + recall > 0)
    per_class = [{"name": classes[i], "precision": _num(precision[i]), "recall": _num(recall[i]),
                  "f1": _num(f1[i]), "support": int(support[i])} for i in range(c)]
    wrong = true != pred
    # within a cell: mistakes most confident first, correct answers least confident first
    order = np.lexsort((np.where(wrong, -confidence, confidence), true * c + pred))
    cells = []
    if c <= CONFUSION_LIMIT:
        shown = _nums(confidence)
        positions = index.tolist()
        cell_of = true[order] * c + pred[order]
        starts = np.flatnonzero(np.r_[True, cell_of[1:] != cell_of[:-1]])
        for start, end in zip(starts, np.r_[starts[1:], len(order)]):
            picked = order[start:min(end, start + CELL_LIMIT)]
            picked = picked.tolist()
            cells.append([int(true[picked[0]]), int(pred[picked[0]]), [positions[i] for i in picked],
                          [shown[i] for i in picked]])
    mistakes = np.flatnonzero(wrong)
    mistakes = mistakes[np.argsort(-confidence[mistakes], kind="stable")][:WORST_LIMIT]
    worst = [{"index": int(index[i]), "true": int(true[i]), "pred": int(pred[i]), "confidence": _num(confidence[i]),
              "loss": _num(loss[i])} for i in mistakes]
    matrix = None
    if c <= CONFUSION_LIMIT:
        matrix = np.bincount(true * c + pred, minlength=c * c).reshape(c, c).tolist()
    return {"classes": classes, "accuracy": _num(1.0 - wrong.mean()) if len(wrong) else None, "matrix": matrix,
            "per_class": per_class, "cells": cells, "worst": worst, "mistakes": int(wrong.sum())}


def regression_summary(true: np.ndarray, pred: np.ndarray, seed: int) -> dict:
    """true, pred [M, k] per validation sample, in order."""
    m, k = true.shape
    flat_true, flat_pred = true.reshape(-1), pred.reshape(-1)
    keep = np.flatnonzero(np.isfinite(flat_true) & np.isfinite(flat_pred))
    if len(keep) > POINT_LIMIT:
        keep = np.sort(np.random.default_rng(seed).choice(keep, POINT_LIMIT, replace=False))
    error = np.abs(pred - true).mean(1)
    order = np.argsort(-np.nan_to_num(error, nan=np.inf), kind="stable")[:WORST_LIMIT]
    worst = [{"index": int(i), "true": _nums(true[i, :VALUE_LIMIT]), "pred": _nums(pred[i, :VALUE_LIMIT]),
              "error": _num(error[i])} for i in order]
    return {"columns": int(k), "mae": _num(np.abs(pred - true).mean()) if m else None,
            "points": {"true": _nums(flat_true[keep]), "pred": _nums(flat_pred[keep]),
                       "index": (keep // k).tolist()},
            "worst": worst}


def _num(value) -> float | None:
    """A JSON number (rounded to what a view shows), None for NaN or infinity."""
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def _nums(values: np.ndarray) -> list:
    """`_num` of every value, vectorised."""
    values = np.round(np.asarray(values, dtype=np.float64), 6)
    if np.isfinite(values).all():
        return values.tolist()
    return [v if math.isfinite(v) else None for v in values.tolist()]
