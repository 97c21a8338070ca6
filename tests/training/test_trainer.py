import pickle
import threading
import time

import pytest
import torch

from tests.training.helpers import blobs, make_trainer
from workbench.training.callbacks import Callback
from workbench.training.control import RunControl
from workbench.training.events import EventLog, EventQueue


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_fit_start(self, trainer):
        self.calls.append("fit_start")

    def on_epoch_start(self, trainer, epoch):
        self.calls.append(f"epoch_start {epoch}")

    def on_batch_end(self, trainer, batch, loss):
        assert loss.dim() == 0 and not loss.requires_grad
        self.calls.append("batch")

    def on_validation_end(self, trainer, metrics):
        assert set(metrics) >= {"val_loss", "val_accuracy"}
        self.calls.append("validation_end")

    def on_epoch_end(self, trainer, metrics):
        self.calls.append(f"epoch_end {metrics['epoch']}")

    def on_fit_end(self, trainer, result):
        self.calls.append(f"fit_end {result.state}")


def test_fit_learns_and_calls_hooks_in_order():
    rec, log = Recorder(), EventLog()
    result = make_trainer({"epochs": 2}, callbacks=[rec, log]).fit()
    assert result.state == "completed" and result.epochs_done == 2 and result.step == 12
    batches = ["batch"] * 6
    assert rec.calls == ["fit_start", "epoch_start 1", *batches, "validation_end", "epoch_end 1",
                         "epoch_start 2", *batches, "validation_end", "epoch_end 2", "fit_end completed"]
    assert log.states == ["starting", "running", "completed"]
    epochs = log.of("epoch")
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert epochs[-1]["val_accuracy"] > 0.9 and epochs[-1]["val_samples"] == 64
    assert {"train_loss", "val_loss", "lr", "samples_per_s", "eta_s", "seconds"} <= set(epochs[-1])
    matrix = log.of("confusion")[-1]["matrix"]
    assert len(matrix) == 3 and sum(map(sum, matrix)) == 64
    for ev in log.events:  # plain data: crosses threads and processes
        assert pickle.loads(pickle.dumps(ev)) == ev


def test_same_seed_same_metrics_and_lazy_loader_sees_the_same_batches():
    settings = {"epochs": 2}
    a = make_trainer(settings).fit().metrics
    b = make_trainer(settings).fit().metrics
    lazy = make_trainer(settings, bundle=blobs(lazy=True)).fit().metrics
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert a[key] == b[key]
        assert lazy[key] == pytest.approx(a[key], rel=1e-6, abs=1e-7)


def test_step_events_carry_loss_lr_and_eta():
    log = EventLog()
    make_trainer({"epochs": 1, "log_every_n_steps": 2}, callbacks=[log]).fit()
    steps = log.of("step")
    assert [s["step"] for s in steps] == [2, 4, 6]
    assert all(s["lr"] == 0.01 and s["loss"] > 0 and s["eta_s"] is not None for s in steps)
    assert steps[-1]["batch"] == steps[-1]["batches"] == 6


def test_the_run_eta_counts_the_epochs_still_to_come():
    log = EventLog()
    make_trainer({"epochs": 3, "log_every_n_steps": 2}, callbacks=[log]).fit()
    by_epoch = {e: [s for s in log.of("step") if s["epoch"] == e] for e in (1, 2, 3)}
    last_of_first = by_epoch[1][-1]
    assert last_of_first["eta_s"] == 0 and last_of_first["run_eta_s"] > 0  # the epoch ends, the run does not
    first_epoch = log.of("epoch")[0]["seconds"]
    second = by_epoch[2][0]  # two epochs to go at the pace of the finished one
    assert second["run_eta_s"] == pytest.approx(second["eta_s"] + first_epoch, rel=1e-6)
    assert all(s["run_eta_s"] == pytest.approx(s["eta_s"]) for s in by_epoch[3])  # the last epoch: the same
    assert by_epoch[3][-1]["run_eta_s"] == 0


def test_with_max_steps_the_run_eta_is_the_steps_left():
    log = EventLog()
    make_trainer({"epochs": 10, "max_steps": 8, "log_every_n_steps": 2}, callbacks=[log]).fit()
    steps = log.of("step")
    assert steps[-1]["step"] == 8 and steps[-1]["run_eta_s"] == 0
    assert all(s["run_eta_s"] > 0 for s in steps if s["step"] < 8)


def test_stop_from_another_thread_ends_cleanly():
    control = RunControl()

    class StopSoon(Callback):
        def on_batch_end(self, trainer, batch, loss):
            if trainer.step == 4:
                threading.Thread(target=control.stop).start()
                time.sleep(0.05)

    log = EventLog()
    result = make_trainer({"epochs": 5}, control=control, callbacks=[StopSoon(), log]).fit()
    assert result.state == "stopped" and "stopped by the user" in result.message
    assert result.step < 30 and log.states[-1] == "stopped"


def test_pause_blocks_without_burning_cpu_then_resumes():
    control = RunControl()
    q = EventQueue()
    holder = {}

    def train():
        holder["result"] = make_trainer({"epochs": 2}, control=control, callbacks=[q]).fit()

    control.pause()
    thread = threading.Thread(target=train)
    thread.start()
    deadline = time.monotonic() + 30
    seen = []
    while "paused" not in [e.get("state") for e in seen] and time.monotonic() < deadline:
        seen += q.drain()
        time.sleep(0.01)
    assert "paused" in [e.get("state") for e in seen]
    cpu_before = time.thread_time()
    wall_before = time.process_time()
    time.sleep(0.3)
    assert time.process_time() - wall_before < 0.1  # the paused worker sleeps
    assert time.thread_time() - cpu_before < 0.1
    control.resume()
    thread.join(30)
    assert holder["result"].state == "completed"
    states = [e["state"] for e in seen + q.drain() if e["event"] == "state"]
    assert states == ["starting", "running", "paused", "running", "completed"]


def test_early_stopping_ends_the_run_as_completed():
    log = EventLog()
    # lr 0 never improves: stops after `patience` epochs without improvement
    result = make_trainer({"epochs": 20, "optimizer": {"type": "SGD", "lr": 1e-12},
                           "early_stopping": {"metric": "val_accuracy", "patience": 2}}, callbacks=[log]).fit()
    assert result.state == "completed" and "early stopping" in result.message
    assert result.epochs_done == 3


def test_regression_reports_mae_and_rmse():
    result = make_trainer({"epochs": 3, "loss": {"type": "MSELoss"}}, bundle=blobs(task="regression")).fit()
    assert result.state == "completed"
    assert {"val_mae", "val_rmse"} <= set(result.metrics) and "val_accuracy" not in result.metrics
    assert result.metrics["val_rmse"] >= result.metrics["val_mae"] > 0


def test_a_run_without_validation_monitors_train_loss():
    result = make_trainer({"epochs": 2}, bundle=blobs(val=0)).fit()
    assert result.state == "completed" and result.best["metric"] == "train_loss"
    assert not any(k.startswith("val_") for k in result.metrics)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_amp_whole_dataset_on_device():
    log = EventLog()
    trainer = make_trainer({"epochs": 2, "device": "cuda"}, callbacks=[log])
    result = trainer.fit()
    assert result.state == "completed"
    start = log.of("fit_start")[0]
    assert start["device"].startswith("cuda") and start["amp"] in ("bf16", "fp16")
    assert trainer.train_source.tensors[1].device.type == "cuda"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_lazy_sets_use_pinned_memory():
    class Peek(Callback):
        def on_fit_start(self, trainer):
            self.pinned = trainer.train_source.loader.pin_memory

    peek = Peek()
    trainer = make_trainer({"epochs": 1, "device": "cuda"}, bundle=blobs(lazy=True), callbacks=[peek])
    assert trainer.fit().state == "completed" and peek.pinned
