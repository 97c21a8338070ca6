"""The project's `training` section, checked and filled with defaults.

Every problem is a ConfigError whose message names the field
("training.optimizer.lr: must be a positive number, got -1"). Keys this version does not
know are kept in `extra` and ignored, so a newer project still trains.

Schema (all optional except where a default is shown as required by the project file):

    epochs, batch_size           whole numbers >= 1
    optimizer  {type, lr, ...}   SGD (momentum, dampening, nesterov), Adam/AdamW (betas, eps,
                                 amsgrad), RMSprop (alpha, eps, momentum, centered),
                                 Adagrad (lr_decay, eps); weight_decay on any of them
    loss       {type, ...}       CrossEntropyLoss (label_smoothing, ignore_index), NLLLoss
                                 (ignore_index), BCEWithLogitsLoss (pos_weight),
                                 MSELoss, L1Loss, SmoothL1Loss (beta)
    scheduler  null | {type, ...} StepLR (step_size, gamma), CosineAnnealingLR (T_max in
                                 epochs, eta_min), OneCycleLR (max_lr, pct_start, ...),
                                 ReduceLROnPlateau (metric, mode, factor, patience, min_lr)
    warmup_steps                 linear learning-rate warm-up over this many steps
    weight_decay                 used when the optimizer section does not set its own
    l1                           L1 penalty on all weights, added to the loss
    grad_clip                    max gradient norm (a number) or {max_norm, norm_type}
    early_stopping               null | {metric, patience, mode, min_delta}
    monitor                      {metric, mode}: what picks best.pt (default: the
                                 early-stopping metric, else val_loss, else train_loss)
    device                       auto | cpu | cuda | cuda:N | mps
    amp                          auto (on for CUDA) | true | false | bf16 | fp16
    seed, deterministic, num_workers (auto | N), log_every_n_steps, top_k
    tensorboard                  true (default) | false: TensorBoard event files in the run folder
    devices                      1 (default) | N: the GUI trains with N processes (torchrun), one per GPU
                                 (or N CPU processes with gloo); the command line is torchrun's own
    strategy                     ddp (default) | fsdp: how N processes share the model

Options for large models (language models above all):

    objective                    auto (what the loss and the data say) | causal_lm: next-token
                                 cross-entropy over every position of a "sequence" task, padding
                                 ignored; reports val_perplexity, val_token_accuracy, train_perplexity.
                                 auto picks causal_lm when the data source declares it
                                 (bundle.extra["objective"] == "causal_lm")
    max_steps                    null | N: end the run cleanly at optimizer step N, even mid-epoch
                                 (or after `epochs`, whichever comes first)
    eval_every                   null | N: validate every N optimizer steps as well as at each
                                 epoch end ("validation" events; best.pt follows them)
    accumulate_steps             k >= 1: one optimizer step per k batches (gradients summed, each
                                 loss scaled by 1/k); steps count optimizer steps
    activation_checkpointing     true: recompute each Transformer/GPT block's activations in the
                                 backward pass instead of keeping them (less memory, ~30% more time)
    compile                      false | true (inductor) | one of COMPILE_BACKENDS: torch.compile the
                                 model for training
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from workbench.training.launch import STRATEGIES

__all__ = ["ConfigError", "TrainingConfig", "parse_config", "metric_mode", "OPTIMIZERS", "LOSSES", "SCHEDULERS",
           "OBJECTIVES", "COMPILE_BACKENDS"]

OPTIMIZERS = {
    "SGD": {"momentum", "dampening", "nesterov", "weight_decay"},
    "Adam": {"betas", "eps", "amsgrad", "weight_decay"},
    "AdamW": {"betas", "eps", "amsgrad", "weight_decay"},
    "RMSprop": {"alpha", "eps", "momentum", "centered", "weight_decay"},
    "Adagrad": {"lr_decay", "eps", "initial_accumulator_value", "weight_decay"},
}
LOSSES = {
    "CrossEntropyLoss": {"label_smoothing", "ignore_index"},
    "NLLLoss": {"ignore_index"},
    "BCEWithLogitsLoss": {"pos_weight"},
    "MSELoss": set(),
    "L1Loss": set(),
    "SmoothL1Loss": {"beta"},
}
SCHEDULERS = {
    "StepLR": {"step_size", "gamma"},
    "CosineAnnealingLR": {"T_max", "eta_min"},
    "OneCycleLR": {"max_lr", "pct_start", "anneal_strategy", "div_factor", "final_div_factor", "three_phase"},
    "ReduceLROnPlateau": {"metric", "mode", "factor", "patience", "threshold", "cooldown", "min_lr"},
}
DEVICES = ("auto", "cpu", "cuda", "mps")
OBJECTIVES = ("auto", "causal_lm")
COMPILE_BACKENDS = ("inductor", "aot_eager", "eager")  # eager, aot_eager: check the capture, no codegen


class ConfigError(Exception):
    """The training settings are wrong; the message names the field."""


@dataclass
class TrainingConfig:
    epochs: int = 10
    batch_size: int = 64
    optimizer: dict = field(default_factory=lambda: {"type": "Adam", "lr": 0.001})
    loss: dict = field(default_factory=lambda: {"type": "CrossEntropyLoss"})
    scheduler: dict | None = None
    warmup_steps: int = 0
    l1: float = 0.0
    grad_clip: dict | None = None  # {"max_norm": float, "norm_type": float}
    early_stopping: dict | None = None  # {"metric", "patience", "mode", "min_delta"}
    monitor: dict | None = None  # {"metric", "mode"}; None: decided once the task is known
    device: str = "auto"
    amp: Any = "auto"
    seed: int = 0
    deterministic: bool = False
    num_workers: Any = "auto"
    log_every_n_steps: int = 10
    top_k: int = 5
    objective: str = "auto"
    max_steps: int | None = None
    eval_every: int | None = None
    accumulate_steps: int = 1
    activation_checkpointing: bool = False
    compile: str | None = None  # a backend of COMPILE_BACKENDS; None: not compiled
    tensorboard: bool = True  # event files in the run folder (workbench.training.tensorboard_log)
    devices: int = 1  # processes the GUI launches (workbench.training.launch)
    strategy: str = "ddp"  # ddp | fsdp, under torchrun
    extra: dict = field(default_factory=dict)

    @property
    def lr(self) -> float:
        return float(self.optimizer["lr"])

    def monitored(self, has_val: bool) -> tuple[str, str]:
        """(metric, mode) that picks best.pt."""
        if self.monitor:
            return self.monitor["metric"], self.monitor["mode"]
        if self.early_stopping:
            return self.early_stopping["metric"], self.early_stopping["mode"]
        return ("val_loss", "min") if has_val else ("train_loss", "min")


def metric_mode(metric: str) -> str:
    """Whether a metric improves by going down ("min") or up ("max")."""
    return "max" if ("accuracy" in metric or metric.startswith(("top", "val_top", "train_top"))) else "min"


def parse_config(section: dict, overrides: dict | None = None) -> TrainingConfig:
    """Check a project's training dict (plus CLI overrides such as epochs) and fill defaults."""
    raw = dict(section or {})
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    cfg = TrainingConfig()
    known = set(TrainingConfig.__dataclass_fields__) - {"extra"}
    cfg.extra = {k: v for k, v in raw.items() if k not in known}
    cfg.epochs = _int(raw.get("epochs", cfg.epochs), "epochs", 1)
    cfg.batch_size = _int(raw.get("batch_size", cfg.batch_size), "batch_size", 1)
    cfg.seed = _int(raw.get("seed", 0), "seed", 0)
    cfg.warmup_steps = _int(raw.get("warmup_steps", 0), "warmup_steps", 0)
    cfg.log_every_n_steps = _int(raw.get("log_every_n_steps", 10), "log_every_n_steps", 1)
    cfg.top_k = _int(raw.get("top_k", 5), "top_k", 1)
    cfg.l1 = _number(raw.get("l1", 0.0), "l1", minimum=0.0)
    cfg.deterministic = _bool(raw.get("deterministic", False), "deterministic")
    cfg.device = _device(raw.get("device", "auto"))
    cfg.amp = raw.get("amp", "auto")
    if not (isinstance(cfg.amp, bool) or cfg.amp in ("auto", "bf16", "fp16")):
        raise ConfigError(f"training.amp: must be one of auto, true, false, bf16, fp16, got {cfg.amp!r}")
    workers = raw.get("num_workers", "auto")
    cfg.num_workers = workers if workers == "auto" else _int(workers, "num_workers", 0)
    cfg.objective = _choice(raw.get("objective", "auto"), "objective", OBJECTIVES)
    cfg.max_steps = _optional_int(raw.get("max_steps"), "max_steps")
    cfg.eval_every = _optional_int(raw.get("eval_every"), "eval_every")
    cfg.accumulate_steps = _int(raw.get("accumulate_steps", 1), "accumulate_steps", 1)
    cfg.activation_checkpointing = _bool(raw.get("activation_checkpointing", False), "activation_checkpointing")
    cfg.tensorboard = _bool(raw.get("tensorboard", True), "tensorboard")
    cfg.devices = _int(raw.get("devices", 1), "devices", 1)
    cfg.strategy = _choice(raw.get("strategy", "ddp"), "strategy", STRATEGIES)
    cfg.compile = _compile(raw.get("compile", False))
    cfg.optimizer = _optimizer(raw.get("optimizer", cfg.optimizer), raw.get("weight_decay"))
    cfg.loss = _section(raw.get("loss", cfg.loss), "loss", LOSSES)
    for key, value in cfg.loss.items():
        if key == "label_smoothing":
            _number(value, "loss.label_smoothing", minimum=0.0, maximum=1.0)
        elif key == "ignore_index":
            _int(value, "loss.ignore_index")
        elif key in ("pos_weight", "beta"):
            _number(value, f"loss.{key}", minimum=0.0)
    cfg.scheduler = _scheduler(raw.get("scheduler"), cfg)
    cfg.grad_clip = _grad_clip(raw.get("grad_clip"))
    cfg.early_stopping = _early_stopping(raw.get("early_stopping"))
    monitor = raw.get("monitor")
    if monitor is not None:
        if isinstance(monitor, str):
            monitor = {"metric": monitor}
        _expect_dict(monitor, "monitor")
        metric = _metric(monitor.get("metric"), "monitor.metric")
        cfg.monitor = {"metric": metric, "mode": _mode(monitor.get("mode"), metric, "monitor.mode")}
    return cfg


def _optimizer(section: Any, weight_decay: Any) -> dict:
    opt = _section(section, "optimizer", OPTIMIZERS)
    if "lr" not in opt:
        raise ConfigError("training.optimizer.lr: missing (the learning rate, e.g. 0.001)")
    _number(opt["lr"], "optimizer.lr", minimum=0.0, positive=True)
    if "weight_decay" not in opt and weight_decay is not None:
        opt["weight_decay"] = weight_decay
    for key in ("weight_decay", "momentum", "eps", "alpha", "dampening", "lr_decay", "initial_accumulator_value"):
        if key in opt:
            _number(opt[key], f"optimizer.{key}", minimum=0.0)
    for key in ("nesterov", "amsgrad", "centered"):
        if key in opt:
            _bool(opt[key], f"optimizer.{key}")
    if "betas" in opt:
        betas = opt["betas"]
        if not (isinstance(betas, list) and len(betas) == 2):
            raise ConfigError(f"training.optimizer.betas: must be two numbers [b1, b2], got {betas!r}")
        opt["betas"] = [_number(b, "optimizer.betas", minimum=0.0, maximum=1.0) for b in betas]
    if opt.get("nesterov") and (opt["type"] != "SGD" or not opt.get("momentum") or opt.get("dampening")):
        raise ConfigError("training.optimizer.nesterov: needs SGD with momentum > 0 and dampening 0")
    return opt


def _scheduler(section: Any, cfg: TrainingConfig) -> dict | None:
    if section is None or section == {} or (isinstance(section, dict) and section.get("type") in (None, "none")):
        return None
    sched = _section(section, "scheduler", SCHEDULERS)
    kind = sched["type"]
    if kind == "StepLR":
        sched["step_size"] = _int(sched.get("step_size", max(1, cfg.epochs // 3)), "scheduler.step_size", 1)
        sched["gamma"] = _number(sched.get("gamma", 0.1), "scheduler.gamma", minimum=0.0, positive=True)
    elif kind == "CosineAnnealingLR":
        sched["T_max"] = _int(sched.get("T_max", cfg.epochs), "scheduler.T_max", 1)
        sched["eta_min"] = _number(sched.get("eta_min", 0.0), "scheduler.eta_min", minimum=0.0)
    elif kind == "OneCycleLR":
        if cfg.warmup_steps:
            raise ConfigError("training.warmup_steps: OneCycleLR warms up by itself (pct_start); set warmup_steps to 0")
        sched["max_lr"] = _number(sched.get("max_lr", cfg.lr), "scheduler.max_lr", minimum=0.0, positive=True)
        if "pct_start" in sched:
            _number(sched["pct_start"], "scheduler.pct_start", minimum=0.0, maximum=1.0)
    elif kind == "ReduceLROnPlateau":
        metric = _metric(sched.get("metric", "val_loss"), "scheduler.metric")
        sched["metric"] = metric
        sched["mode"] = _mode(sched.get("mode"), metric, "scheduler.mode")
        sched["factor"] = _number(sched.get("factor", 0.1), "scheduler.factor", minimum=0.0, positive=True)
        sched["patience"] = _int(sched.get("patience", 10), "scheduler.patience", 0)
        if sched["factor"] >= 1:
            raise ConfigError(f"training.scheduler.factor: must be below 1, got {sched['factor']}")
    return sched


def _grad_clip(value: Any) -> dict | None:
    if value is None or value is False or value == 0:
        return None
    if not isinstance(value, dict):
        value = {"max_norm": value}
    _expect_dict(value, "grad_clip")
    out = {"max_norm": _number(value.get("max_norm"), "grad_clip.max_norm", minimum=0.0, positive=True)}
    out["norm_type"] = _number(value.get("norm_type", 2.0), "grad_clip.norm_type", minimum=0.0, positive=True)
    return out


def _early_stopping(value: Any) -> dict | None:
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    _expect_dict(value, "early_stopping")
    metric = _metric(value.get("metric", "val_loss"), "early_stopping.metric")
    return {
        "metric": metric,
        "mode": _mode(value.get("mode"), metric, "early_stopping.mode"),
        "patience": _int(value.get("patience", 5), "early_stopping.patience", 1),
        "min_delta": _number(value.get("min_delta", 0.0), "early_stopping.min_delta", minimum=0.0),
    }


def _section(value: Any, name: str, table: dict[str, set]) -> dict:
    if isinstance(value, str):
        value = {"type": value}
    _expect_dict(value, name)
    kind = value.get("type")
    if kind not in table:
        raise ConfigError(f"training.{name}.type: must be one of {', '.join(table)}, got {kind!r}")
    return dict(value)


def _metric(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"training.{where}: must be a metric name such as val_loss or val_accuracy, got {value!r}")
    return value


def _mode(value: Any, metric: str, where: str) -> str:
    if value in (None, "auto"):
        return metric_mode(metric)
    if value not in ("min", "max"):
        raise ConfigError(f"training.{where}: must be 'min' or 'max', got {value!r}")
    return value


def _device(value: Any) -> str:
    if not isinstance(value, str) or not (value in DEVICES or (value.startswith("cuda:") and value[5:].isdigit())):
        raise ConfigError(f"training.device: must be auto, cpu, cuda, cuda:N or mps, got {value!r}")
    return value


def _choice(value: Any, where: str, allowed: tuple) -> str:
    if value not in allowed or not isinstance(value, str):
        raise ConfigError(f"training.{where}: must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _optional_int(value: Any, where: str) -> int | None:
    """null (off) or a whole number >= 1."""
    return None if value is None else _int(value, where, 1)


def _compile(value: Any) -> str | None:
    if value is False or value is None:
        return None
    if value is True:
        return COMPILE_BACKENDS[0]
    if isinstance(value, str) and value in COMPILE_BACKENDS:
        return value
    raise ConfigError(f"training.compile: must be true, false or one of {', '.join(COMPILE_BACKENDS)}, got {value!r}")


def _expect_dict(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"training.{where}: must be an object, got {value!r}")


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"training.{where}: must be true or false, got {value!r}")
    return value


def _int(value: Any, where: str, minimum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"training.{where}: must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"training.{where}: must be at least {minimum}, got {value}")
    return value


def _number(value: Any, where: str, minimum: float | None = None, maximum: float | None = None,
            positive: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"training.{where}: must be a number, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"training.{where}: must be a positive number, got {value}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"training.{where}: must be at least {minimum:g}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"training.{where}: must be at most {maximum:g}, got {value}")
    return float(value) if isinstance(value, float) else value
