"""Each way a run can fail ends in state "failed" with a clear message, keeping the last checkpoint."""

import errno
import os

import torch
from torch import nn

from tests.training.helpers import PairSet, blobs, make_trainer, mlp_graph
from workbench.core.compile import compile_graph
from workbench.training import checkpoint
from workbench.training.callbacks import Callback
from workbench.training.events import EventLog


class RaiseAtStep(nn.Module):
    """Stands in for a layer: passes through until the global step `at`, then misbehaves."""

    def __init__(self, trainer_ref, at, make):
        super().__init__()
        self.trainer_ref, self.at, self.make = trainer_ref, at, make

    def forward(self, x):
        trainer = self.trainer_ref[0]
        if self.training and trainer.step + 1 == self.at:
            return self.make(x)
        return x


def fit_with(tmp_path, node, at, make, settings=None):
    model = compile_graph(mlp_graph(), "tiny")
    ref = []
    setattr(model, node, RaiseAtStep(ref, at, make))
    log = EventLog()
    trainer = make_trainer({"epochs": 3, **(settings or {})}, model=model, run_dir=tmp_path / "run", callbacks=[log])
    ref.append(trainer)
    result = trainer.fit()
    trainer.run.close()
    return result, log


def assert_failed_keeping_epoch_1(result, log, tmp_path, error_log=True):
    assert result.state == "failed" and log.states[-1] == "failed"
    assert log.events[-1]["message"] == result.message
    kept = checkpoint.load(tmp_path / "run" / "checkpoint.pt")
    assert kept["epoch"] == 1
    assert not (tmp_path / "run" / "final.pt").exists()
    if error_log:  # (a full disk has no room for it)
        assert (tmp_path / "run" / "error.log").read_text().startswith("Traceback")


def test_nan_loss_names_the_step(tmp_path):
    result, log = fit_with(tmp_path, "act", 9, lambda x: x * float("nan"))
    assert result.failure.kind == "nan_loss"
    assert "the loss became nan at step 9 (epoch 2, batch 3)" in result.message
    assert_failed_keeping_epoch_1(result, log, tmp_path)


def test_out_of_memory_names_the_batch_size_and_suggests_a_smaller_one(tmp_path):
    def oom(x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    result, log = fit_with(tmp_path, "act", 8, oom)
    assert result.failure.kind == "out_of_memory"
    assert "out of memory on cpu with batch size 32" in result.message and "--batch-size 16" in result.message
    assert_failed_keeping_epoch_1(result, log, tmp_path)


def test_exception_inside_a_layer_names_the_node(tmp_path):
    def boom(x):
        raise ValueError("plugin layer exploded")

    result, log = fit_with(tmp_path, "act", 7, boom)
    assert result.failure.kind == "layer" and result.failure.node_id == "act"
    assert result.message == "layer 'act' raised ValueError: plugin layer exploded"
    assert_failed_keeping_epoch_1(result, log, tmp_path)


def test_error_deep_inside_a_layer_is_still_pinned_to_its_node():
    model = compile_graph(mlp_graph(), "tiny")
    model.fc2 = nn.Sequential(nn.Identity(), nn.Linear(5, 3))  # wrong input width, raised by F.linear inside
    result = make_trainer({"epochs": 1}, model=model).fit()
    assert result.failure.node_id == "fc2" and "layer 'fc2' raised RuntimeError" in result.message


class Vanishing(PairSet):
    """A lazy data set whose files disappear once `gone` is set."""

    gone = False

    def __getitem__(self, i):
        if self.gone:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", f"/data/img_{i}.png")
        return super().__getitem__(i)


def test_dataset_file_vanishing_mid_run(tmp_path):
    bundle = blobs(lazy=True)
    bundle.train = Vanishing(bundle.train.x, bundle.train.y)

    class DeleteFiles(Callback):
        def on_epoch_start(self, trainer, epoch):
            Vanishing.gone = epoch == 2

    log = EventLog()
    trainer = make_trainer({"epochs": 3}, bundle=bundle, run_dir=tmp_path / "run", callbacks=[DeleteFiles(), log])
    result = trainer.fit()
    trainer.run.close()
    Vanishing.gone = False
    assert result.failure.kind == "data"
    assert result.message.startswith("could not read the training data (/data/img_")
    assert "No such file or directory" in result.message
    assert_failed_keeping_epoch_1(result, log, tmp_path)


def test_disk_full_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    real_fsync = os.fsync
    full = {"on": False}

    def fsync(fd):
        if full["on"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)

    class FillDisk(Callback):
        def on_epoch_start(self, trainer, epoch):
            full["on"] = epoch == 2

    log = EventLog()
    trainer = make_trainer({"epochs": 3}, run_dir=tmp_path / "run", callbacks=[FillDisk(), log])
    result = trainer.fit()
    trainer.run.close()
    full["on"] = False
    assert result.failure.kind == "checkpoint"
    assert "could not write checkpoint.pt: No space left on device" in result.message
    assert "previous checkpoint is intact" in result.message
    assert [e["epoch"] for e in log.of("epoch")] == [1, 2]  # epoch 2 trained, its checkpoint could not be saved
    assert_failed_keeping_epoch_1(result, log, tmp_path, error_log=False)
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]  # no half-written leftovers
