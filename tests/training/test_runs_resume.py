import json

import pytest
import torch

from tests.training.helpers import make_trainer, mlp_graph
from workbench.training import checkpoint
from workbench.training.callbacks import Callback
from workbench.training.control import RunControl
from workbench.training.events import EventLog
from workbench.training.runs import list_runs, new_run_dir, read_run

# dropout (RNG), Adam (state), cosine schedule (scheduler state): everything resume must restore
SETTINGS = {"epochs": 4, "scheduler": {"type": "CosineAnnealingLR"}, "optimizer": {"type": "Adam", "lr": 0.02}}
KEYS = ("train_loss", "val_loss", "val_accuracy", "lr")


def train(tmp_path, name, settings=SETTINGS, callbacks=(), control=None, resume_from=None):
    run_dir = tmp_path / name
    state = checkpoint.load(run_dir / "checkpoint.pt") if resume_from else None
    log = EventLog()
    trainer = make_trainer(settings, graph=mlp_graph(dropout=0.3), run_dir=run_dir, callbacks=[log, *callbacks],
                           control=control, resume=state)
    result = trainer.fit()
    trainer.run.close()
    return result, log, trainer


def assert_same_epochs(a, b):
    assert [e["epoch"] for e in a] == [e["epoch"] for e in b]
    for x, y in zip(a, b):
        for key in KEYS:
            assert x[key] == pytest.approx(y[key], rel=1e-5, abs=1e-7), (x["epoch"], key)


class StopAfterEpoch(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, metrics):
        if metrics["epoch"] == self.epoch:
            trainer.request_stop("paused for the test")


def test_two_epochs_then_resume_equals_four_straight(tmp_path):
    straight, slog, strainer = train(tmp_path, "straight")
    first, flog, _ = train(tmp_path, "resumed", callbacks=[StopAfterEpoch(2)])
    assert first.state == "stopped" and first.epochs_done == 2
    second, rlog, rtrainer = train(tmp_path, "resumed", resume_from=True)
    assert second.state == "completed" and second.epochs_done == 4 and second.step == straight.step
    assert rlog.states == ["starting", "resumed", "running", "completed"]
    assert_same_epochs(flog.of("epoch") + rlog.of("epoch"), slog.of("epoch"))
    for (name, a), (_, b) in zip(strainer.model.state_dict().items(), rtrainer.model.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_a_shorter_run_extended_with_more_epochs_equals_the_long_run(tmp_path):
    constant = {"epochs": 2, "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9}}
    _, slog, _ = train(tmp_path, "straight", {**constant, "epochs": 4})
    _, flog, _ = train(tmp_path, "resumed", constant)
    _, rlog, _ = train(tmp_path, "resumed", {**constant, "epochs": 4}, resume_from=True)
    assert_same_epochs(flog.of("epoch") + rlog.of("epoch"), slog.of("epoch"))


def test_stopped_mid_epoch_resumes_at_the_same_batch(tmp_path):
    control = RunControl()

    class StopAtStep(Callback):
        def on_batch_end(self, trainer, batch, loss):
            if trainer.step == 8:  # epoch 2, batch 2 of 6
                control.stop()

    _, slog, _ = train(tmp_path, "straight")
    first, flog, _ = train(tmp_path, "resumed", callbacks=[StopAtStep()], control=control)
    assert first.state == "stopped" and "epoch 2, batch 2" in first.message
    state = checkpoint.load(tmp_path / "resumed" / "checkpoint.pt")
    assert (state["epoch"], state["batch"], state["step"]) == (1, 2, 8)
    _, rlog, _ = train(tmp_path, "resumed", resume_from=True)
    assert_same_epochs(flog.of("epoch") + rlog.of("epoch"), slog.of("epoch"))


def test_run_folder_holds_weights_only_checkpoints_and_metrics(tmp_path):
    result, log, _ = train(tmp_path, "run", {**SETTINGS, "epochs": 2})
    folder = tmp_path / "run"
    assert {p.name for p in folder.iterdir()} >= {"metrics.jsonl", "checkpoint.pt", "best.pt", "final.pt"}
    for name in ("checkpoint.pt", "best.pt", "final.pt"):
        payload = torch.load(folder / name, weights_only=True)  # no pickled classes
        assert payload["format"] == "workbench-checkpoint" and "fc1.weight" in payload["model"]
    full = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert {"optimizer", "scheduler", "scaler", "epoch", "step", "rng", "metrics", "best"} <= set(full)
    assert full["epoch"] == 2 and full["step"] == 12
    lines = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in lines if e["event"] == "epoch"] == [1, 2]
    assert lines[-1] == {**lines[-1], "event": "state", "state": "completed"}
    info = read_run(folder)
    assert info.state == "completed" and info.epochs_done == 2 and info.last["val_accuracy"] > 0.5


def test_run_folders_are_timestamped_and_never_reused(tmp_path):
    a = new_run_dir(tmp_path, "my project", now=0)
    b = new_run_dir(tmp_path, "my project", now=0)
    assert a.parent == b.parent == tmp_path / "my-project"
    assert b.name == a.name + "-2" and len(a.name) == len("19700101-000000")


def test_list_runs_reports_states(tmp_path):
    train(tmp_path / "runs" / "tiny", "ok", {**SETTINGS, "epochs": 1})
    train(tmp_path / "runs" / "tiny", "bad", {**SETTINGS, "epochs": 1, "optimizer": {"type": "SGD", "lr": 1e30}})
    found = {r.path.name: r for r in list_runs(tmp_path / "runs")}
    assert found["ok"].state == "completed" and found["bad"].state == "failed"
    assert "loss became" in found["bad"].message
