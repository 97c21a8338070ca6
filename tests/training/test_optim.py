import pytest
import torch

from tests.training.helpers import make_trainer
from workbench.training.events import EventLog


@pytest.mark.parametrize("optimizer", [
    {"type": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"type": "Adam", "lr": 0.01, "betas": [0.9, 0.99]},
    {"type": "AdamW", "lr": 0.01, "weight_decay": 0.05},
    {"type": "RMSprop", "lr": 0.005},
    {"type": "Adagrad", "lr": 0.1},
])
def test_every_optimizer_trains(optimizer):
    result = make_trainer({"epochs": 2, "optimizer": optimizer}).fit()
    assert result.state == "completed" and result.metrics["val_accuracy"] > 0.8


def lrs(settings):
    log = EventLog()
    result = make_trainer(settings, callbacks=[log]).fit()
    assert result.state == "completed", result.message
    return [e["lr"] for e in log.of("epoch")], [e["lr"] for e in log.of("step")]


def test_step_and_cosine_schedules():
    epoch_lrs, _ = lrs({"epochs": 4, "optimizer": {"type": "SGD", "lr": 0.1},
                        "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5}})
    assert epoch_lrs == pytest.approx([0.1, 0.1, 0.05, 0.05])
    epoch_lrs, _ = lrs({"epochs": 3, "optimizer": {"type": "SGD", "lr": 0.1},
                        "scheduler": {"type": "CosineAnnealingLR", "T_max": 2}})
    assert epoch_lrs == pytest.approx([0.1, 0.05, 0.0], abs=1e-9)


def test_one_cycle_steps_every_batch():
    _, step_lrs = lrs({"epochs": 2, "log_every_n_steps": 1, "optimizer": {"type": "SGD", "lr": 0.1},
                       "scheduler": {"type": "OneCycleLR", "max_lr": 0.1}})
    peak = step_lrs.index(max(step_lrs))
    assert 0 < peak < len(step_lrs) - 1 and step_lrs[-1] < step_lrs[0]


def test_reduce_on_plateau_watches_its_metric():
    epoch_lrs, _ = lrs({"epochs": 4, "optimizer": {"type": "SGD", "lr": 1e-6},
                        "scheduler": {"type": "ReduceLROnPlateau", "metric": "val_accuracy", "patience": 0,
                                      "factor": 0.5}})
    assert epoch_lrs[0] == pytest.approx(1e-6) and epoch_lrs[-1] < epoch_lrs[0]


def test_linear_warmup_ramps_the_first_steps():
    _, step_lrs = lrs({"epochs": 1, "log_every_n_steps": 1, "warmup_steps": 4, "optimizer": {"type": "SGD", "lr": 0.1}})
    assert step_lrs == pytest.approx([0.05, 0.075, 0.1, 0.1, 0.1, 0.1])  # lr of the step after each event


def test_grad_clip_l1_and_label_smoothing_train():
    result = make_trainer({"epochs": 2, "grad_clip": 0.5, "l1": 1e-3,
                           "loss": {"type": "CrossEntropyLoss", "label_smoothing": 0.1}}).fit()
    assert result.state == "completed" and result.metrics["val_accuracy"] > 0.8


def test_l1_penalty_shrinks_weights():
    plain = make_trainer({"epochs": 3})
    plain.fit()
    sparse = make_trainer({"epochs": 3, "l1": 0.05})
    sparse.fit()
    size = lambda t: sum(p.abs().sum().item() for n, p in t.model.named_parameters() if n.endswith("weight"))  # noqa: E731
    assert size(sparse) < 0.8 * size(plain)


def test_weight_decay_reaches_the_optimizer():
    trainer = make_trainer({"epochs": 1, "weight_decay": 0.1, "optimizer": {"type": "SGD", "lr": 0.01}})
    trainer.fit()
    assert trainer.optimizer.param_groups[0]["weight_decay"] == 0.1
    assert isinstance(trainer.optimizer, torch.optim.SGD)
