import pytest

from workbench.training.config import ConfigError, metric_mode, parse_config


def test_defaults_and_overrides():
    cfg = parse_config({"epochs": 5, "optimizer": {"type": "SGD", "lr": 0.1}}, {"epochs": 2, "batch_size": None})
    assert cfg.epochs == 2 and cfg.batch_size == 64 and cfg.device == "auto" and cfg.amp == "auto"
    assert cfg.optimizer == {"type": "SGD", "lr": 0.1} and cfg.scheduler is None and cfg.early_stopping is None
    assert cfg.monitored(has_val=True) == ("val_loss", "min")
    assert cfg.monitored(has_val=False) == ("train_loss", "min")


def test_unknown_keys_are_kept_aside():
    cfg = parse_config({"future_setting": 3})
    assert cfg.extra == {"future_setting": 3}


@pytest.mark.parametrize("section, message", [
    ({"epochs": 0}, "training.epochs: must be at least 1, got 0"),
    ({"batch_size": "64"}, "training.batch_size: must be a whole number"),
    ({"optimizer": {"type": "Adamax", "lr": 1}}, "training.optimizer.type: must be one of SGD, Adam, AdamW"),
    ({"optimizer": {"type": "Adam"}}, "training.optimizer.lr: missing"),
    ({"optimizer": {"type": "Adam", "lr": -1}}, "training.optimizer.lr: must be a positive number, got -1"),
    ({"optimizer": {"type": "Adam", "lr": 1, "nesterov": True}}, "nesterov: needs SGD with momentum"),
    ({"loss": {"type": "CrossEntropyLoss", "label_smoothing": 2}}, "label_smoothing: must be at most 1"),
    ({"scheduler": {"type": "OneCycleLR"}, "warmup_steps": 10}, "OneCycleLR warms up by itself"),
    ({"scheduler": {"type": "ReduceLROnPlateau", "factor": 2}}, "scheduler.factor: must be below 1"),
    ({"early_stopping": {"patience": 0}}, "early_stopping.patience: must be at least 1"),
    ({"device": "gpu"}, "training.device: must be auto, cpu, cuda, cuda:N or mps"),
    ({"amp": "fp8"}, "training.amp: must be one of auto, true, false, bf16, fp16"),
    ({"grad_clip": -1}, "grad_clip.max_norm: must be a positive number"),
])
def test_mistakes_name_the_field(section, message):
    with pytest.raises(ConfigError, match=None) as info:
        parse_config(section)
    assert message in str(info.value)


def test_schema_extensions():
    cfg = parse_config({
        "epochs": 6, "weight_decay": 0.01, "l1": 1e-4, "grad_clip": 1.0, "warmup_steps": 5, "amp": "bf16",
        "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True},
        "scheduler": {"type": "CosineAnnealingLR"},
        "early_stopping": {"metric": "val_accuracy", "patience": 3},
        "loss": {"type": "CrossEntropyLoss", "label_smoothing": 0.1},
    })
    assert cfg.optimizer["weight_decay"] == 0.01  # the top-level setting fills the optimizer's
    assert cfg.grad_clip == {"max_norm": 1.0, "norm_type": 2.0}
    assert cfg.scheduler == {"type": "CosineAnnealingLR", "T_max": 6, "eta_min": 0.0}
    assert cfg.early_stopping == {"metric": "val_accuracy", "mode": "max", "patience": 3, "min_delta": 0.0}
    assert cfg.monitored(True) == ("val_accuracy", "max")


def test_metric_modes():
    assert [metric_mode(m) for m in ("val_loss", "val_mae", "val_accuracy", "val_top5_accuracy")] == \
        ["min", "min", "max", "max"]
