"""Validation metrics, accumulated on the device and read once per validation.

Sums live in one float64 vector (and one confusion-matrix tensor) so a distributed run
all-reduces them in one call and every rank reports exactly the figures of the whole set.

    loss                 mean over samples
    accuracy, topK_accuracy   classification / sequence (positions equal to ignore_index skipped)
    mae, rmse            regression and reconstruction (over every element)
    confusion            rows = true class, columns = predicted class (up to CONFUSION_LIMIT classes)

A causal language model (objective.causal_lm) reports per token instead: loss is the mean
over real (non-padding) tokens of the whole set, perplexity = exp(that loss) (not a mean of
batch perplexities), token_accuracy the share of next tokens predicted; no top-k, no confusion.
"""

from __future__ import annotations

import math

import torch

from workbench.training.config import ConfigError, TrainingConfig
from workbench.training.losses import BINARY, MULTICLASS, MULTILABEL, REGRESSION, Objective

__all__ = ["MetricAccumulator", "metric_names", "available_metrics", "check_metrics", "perplexity", "CONFUSION_LIMIT"]

CONFUSION_LIMIT = 100
_LOSS, _SAMPLES, _CORRECT, _TOPK, _ELEMENTS, _ABS, _SQ = range(7)


def perplexity(loss: float) -> float:
    """exp(mean token loss); inf past what a float holds, NaN stays NaN."""
    try:
        return math.exp(loss)
    except OverflowError:
        return math.inf


def metric_names(objective: Objective, num_classes: int | None, top_k: int, prefix: str = "val_") -> list[str]:
    if objective.causal_lm:
        return [prefix + n for n in ("loss", "perplexity", "token_accuracy")]
    names = ["loss"]
    if objective.kind in (MULTICLASS, BINARY, MULTILABEL):
        names.append("accuracy")
        if objective.kind == MULTICLASS and num_classes and num_classes > top_k:
            names.append(f"top{top_k}_accuracy")
    else:
        names += ["mae", "rmse"]
    return [prefix + n for n in names]


def available_metrics(objective: Objective, bundle, cfg: TrainingConfig) -> list[str]:
    names = ["train_loss", "train_perplexity"] if objective.causal_lm else ["train_loss"]
    if bundle.val is not None:
        names += metric_names(objective, bundle.num_classes, cfg.top_k)
    return names


def check_metrics(cfg: TrainingConfig, names: list[str]) -> None:
    """Refuse early stopping / monitor / plateau settings that watch a metric the run lacks."""
    watched = []
    if cfg.early_stopping:
        watched.append(("early_stopping.metric", cfg.early_stopping["metric"]))
    if cfg.monitor:
        watched.append(("monitor.metric", cfg.monitor["metric"]))
    if cfg.scheduler and cfg.scheduler["type"] == "ReduceLROnPlateau":
        watched.append(("scheduler.metric", cfg.scheduler["metric"]))
    for where, metric in watched:
        if metric not in names:
            raise ConfigError(f"training.{where}: this run does not report {metric!r}; choose one of "
                              f"{', '.join(names)}")


class MetricAccumulator:
    def __init__(self, objective: Objective, num_classes: int | None, top_k: int, device) -> None:
        self.objective = objective
        self.kind = objective.kind
        self.ignore = objective.ignore_index
        self.lm = objective.causal_lm
        self.num_classes = num_classes
        wide = self.kind == MULTICLASS and num_classes and num_classes > top_k
        self.top_k = top_k if (wide and not self.lm) else None
        if self.kind == BINARY:
            self.num_classes = 2
        self.device = device
        self.sums = torch.zeros(7, dtype=torch.float64, device=device)
        with_confusion = (self.kind in (MULTICLASS, BINARY) and not self.lm and self.num_classes
                          and self.num_classes <= CONFUSION_LIMIT)
        self.confusion = (torch.zeros(self.num_classes * self.num_classes, dtype=torch.int64, device=device)
                          if with_confusion else None)

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        n = target.shape[0]
        s = self.sums
        s[_SAMPLES] += n
        out, tgt = self.objective.flat(output.detach().float(), target)
        if self.lm:  # a batch's loss is the mean over its real tokens: weigh it by them (none: NaN, skipped)
            tokens = tgt.ne(self.ignore).sum() if self.ignore is not None else tgt.new_tensor(tgt.numel())
            s[_LOSS] += torch.where(tokens > 0, loss.detach().double() * tokens, 0.0)
        else:
            s[_LOSS] += loss.detach().double() * n
        if self.kind == MULTICLASS:
            pred = out.argmax(-1)
            if self.ignore is not None:
                keep = tgt != self.ignore
                pred, tgt = pred[keep], tgt[keep]
                if self.top_k:
                    out = out[keep]
            s[_CORRECT] += (pred == tgt).sum()
            s[_ELEMENTS] += tgt.numel()
            if self.top_k:
                top = out.topk(self.top_k, dim=-1).indices
                s[_TOPK] += (top == tgt.unsqueeze(-1)).any(-1).sum()
            self._confuse(tgt, pred)
        elif self.kind == BINARY:
            pred = (out > 0).long()
            tgt = tgt.long()
            s[_CORRECT] += (pred == tgt).sum()
            s[_ELEMENTS] += tgt.numel()
            self._confuse(tgt, pred)
        elif self.kind == MULTILABEL:
            s[_CORRECT] += ((out > 0) == (tgt > 0.5)).sum()
            s[_ELEMENTS] += tgt.numel()
        else:
            diff = out - tgt.float().reshape(out.shape)
            s[_ABS] += diff.abs().sum()
            s[_SQ] += diff.square().sum()
            s[_ELEMENTS] += diff.numel()

    def _confuse(self, tgt: torch.Tensor, pred: torch.Tensor) -> None:
        if self.confusion is not None:
            c = self.num_classes
            valid = (tgt >= 0) & (tgt < c)
            self.confusion += torch.bincount((tgt[valid] * c + pred[valid]).long(), minlength=c * c)

    def all_reduce(self, reduce) -> None:
        """Sum the accumulators over processes with `reduce(tensor)` (in place)."""
        reduce(self.sums)
        if self.confusion is not None:
            reduce(self.confusion)

    def compute(self, prefix: str = "val_") -> dict:
        s = self.sums.tolist()
        samples = max(s[_SAMPLES], 1.0)
        out = {prefix + "loss": s[_LOSS] / samples, prefix + "samples": int(s[_SAMPLES])}
        elements = max(s[_ELEMENTS], 1.0)
        if self.lm:
            loss = s[_LOSS] / elements if s[_ELEMENTS] else math.nan
            return {prefix + "loss": loss, prefix + "perplexity": perplexity(loss),
                    prefix + "token_accuracy": s[_CORRECT] / elements, prefix + "samples": int(s[_SAMPLES])}
        if self.kind in (MULTICLASS, BINARY, MULTILABEL):
            out[prefix + "accuracy"] = s[_CORRECT] / elements
            if self.top_k:
                out[f"{prefix}top{self.top_k}_accuracy"] = s[_TOPK] / elements
        elif self.kind == REGRESSION:
            out[prefix + "mae"] = s[_ABS] / elements
            out[prefix + "rmse"] = math.sqrt(s[_SQ] / elements)
        return out

    def confusion_matrix(self) -> list[list[int]] | None:
        if self.confusion is None:
            return None
        c = self.num_classes
        return self.confusion.reshape(c, c).tolist()
