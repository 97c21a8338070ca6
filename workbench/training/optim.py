"""Optimizers, learning-rate schedulers and linear warm-up from the checked config.

Schedulers step at the end of each epoch, except OneCycleLR, which steps every batch.
ReduceLROnPlateau steps on its chosen metric. Warm-up scales the learning rate by
(step + 1) / warmup_steps for the first steps only at the moment of the optimizer step,
so it composes with any scheduler and leaves the scheduler's own arithmetic untouched.
"""

from __future__ import annotations

from torch import nn, optim

from workbench.training.config import OPTIMIZERS, TrainingConfig

__all__ = ["build_optimizer", "build_scheduler", "Warmup", "current_lr"]

_OPTIMIZER_CLASSES = {
    "SGD": optim.SGD,
    "Adam": optim.Adam,
    "AdamW": optim.AdamW,
    "RMSprop": optim.RMSprop,
    "Adagrad": optim.Adagrad,
}


def build_optimizer(model: nn.Module, cfg: TrainingConfig) -> optim.Optimizer:
    spec = cfg.optimizer
    kind = spec["type"]
    kwargs = {k: v for k, v in spec.items() if k in OPTIMIZERS[kind]}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    params = [p for p in model.parameters() if p.requires_grad]
    return _OPTIMIZER_CLASSES[kind](params, lr=float(spec["lr"]), **kwargs)


def build_scheduler(optimizer: optim.Optimizer, cfg: TrainingConfig, steps_per_epoch: int):
    """Returns (scheduler or None, per_batch: bool)."""
    spec = cfg.scheduler
    if spec is None:
        return None, False
    kind = spec["type"]
    S = optim.lr_scheduler
    if kind == "StepLR":
        return S.StepLR(optimizer, step_size=spec["step_size"], gamma=spec["gamma"]), False
    if kind == "CosineAnnealingLR":
        return S.CosineAnnealingLR(optimizer, T_max=spec["T_max"], eta_min=spec["eta_min"]), False
    if kind == "OneCycleLR":
        extra = {k: spec[k] for k in ("pct_start", "anneal_strategy", "div_factor", "final_div_factor", "three_phase")
                 if k in spec}
        total = cfg.epochs * steps_per_epoch  # optimizer steps (batches / accumulate_steps), up to max_steps
        if cfg.max_steps is not None:
            total = min(total, cfg.max_steps)
        return S.OneCycleLR(optimizer, max_lr=spec["max_lr"], total_steps=total, **extra), True
    if kind == "ReduceLROnPlateau":
        extra = {k: spec[k] for k in ("threshold", "cooldown", "min_lr") if k in spec}
        return S.ReduceLROnPlateau(optimizer, mode=spec["mode"], factor=spec["factor"], patience=spec["patience"],
                                   **extra), False
    raise ValueError(f"unknown scheduler {kind!r}")  # parse_config refuses these first


class Warmup:
    """Linear warm-up applied around `optimizer.step()` during the first `steps` steps."""

    def __init__(self, optimizer: optim.Optimizer, steps: int) -> None:
        self.optimizer = optimizer
        self.steps = steps

    def active(self, step: int) -> bool:
        return step < self.steps

    def step(self, step: int, do_step) -> None:
        """Run `do_step()` with every group's lr scaled for global step `step` (from 0)."""
        factor = (step + 1) / self.steps
        groups = self.optimizer.param_groups
        saved = [g["lr"] for g in groups]
        for g, lr in zip(groups, saved):
            g["lr"] = lr * factor
        try:
            do_step()
        finally:
            for g, lr in zip(groups, saved):
                g["lr"] = lr


def current_lr(optimizer: optim.Optimizer, warmup: Warmup | None = None, step: int = 0) -> float:
    lr = float(optimizer.param_groups[0]["lr"])
    if warmup is not None and warmup.active(step):
        lr *= (step + 1) / warmup.steps
    return lr
