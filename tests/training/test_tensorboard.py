"""TensorBoard event files, read back with tensorboard's own EventAccumulator and held
against metrics.jsonl and the event stream value for value."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from tests.training.run_projects import moons_project
from workbench.training.events import EventLog
from workbench.training.session import prepare
from workbench.training.telemetry import Telemetry
from workbench.training.tensorboard_log import confusion_image


def _train(tmp_path, callbacks=(), **training):
    project = moons_project(tmp_path, epochs=3)
    project.training.update(training)
    log = EventLog()
    session = prepare(project, runs_dir=tmp_path / "runs", callbacks=[log, *callbacks])
    result = session.fit()
    assert result.state == "completed", result.message
    return session.run_dir, log


def _accumulator(run_dir):
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def _series(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def _f32(value):
    return float(np.float32(value))


def test_scalars_match_metrics_jsonl_and_step_events_value_for_value(tmp_path):
    run_dir, log = _train(tmp_path, log_every_n_steps=3, eval_every=4)
    acc = _accumulator(run_dir)
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    epochs = [e for e in lines if e["event"] == "epoch"]
    validations = [e for e in lines if e["event"] == "validation"]
    assert len(epochs) == 3 and validations
    for name in ("train_loss", "val_loss", "val_accuracy", "lr", "samples_per_s", "seconds"):
        assert _series(acc, f"epoch/{name}") == [(e["step"], _f32(e[name])) for e in epochs], name
    for name in ("val_loss", "val_accuracy"):
        assert _series(acc, f"validation/{name}") == [(e["step"], _f32(e[name])) for e in validations], name
    steps = log.of("step")
    assert len(steps) > len(epochs)
    for name in ("loss", "lr", "samples_per_s"):
        assert _series(acc, f"step/{name}") == [(e["step"], _f32(e[name])) for e in steps], name


def test_hparams_histograms_and_confusion_image(tmp_path):
    run_dir, log = _train(tmp_path, optimizer={"type": "SGD", "lr": 0.05, "momentum": 0.9})
    acc = _accumulator(run_dir)
    tags = acc.Tags()
    plugin = acc.PluginTagToContent("hparams")
    start = HParamsPluginData.FromString(plugin["_hparams_/session_start_info"]).session_start_info
    hp = {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    assert hp["optimizer"] == "SGD" and hp["optimizer.lr"] == pytest.approx(0.05)
    assert hp["optimizer.momentum"] == pytest.approx(0.9) and hp["batch_size"] == 40 and hp["epochs"] == 3
    assert hp["graph.parameters"] == 16 * 2 + 16 + 2 * 16 + 2 and hp["graph.layers"] == 3
    experiment = HParamsPluginData.FromString(plugin["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} == {"epoch/train_loss", "epoch/val_loss",
                                                            "epoch/val_accuracy"}
    end = HParamsPluginData.FromString(plugin["_hparams_/session_end_info"]).session_end_info
    assert end.status == 1  # STATUS_SUCCESS
    # histograms: own schedule, about four samples an epoch (10 steps per epoch here)
    hist = tags["histograms"]
    assert {"activations/fc1", "activations/act", "activations/fc2", "gradients/fc1", "gradients/fc2"} <= set(hist)
    steps = [e.step for e in acc.Histograms("activations/fc1")]
    assert len(steps) >= 6 and steps == sorted(set(steps))
    fc1 = acc.Histograms("activations/fc1")[0].histogram_value
    assert fc1.num == 40 * 16  # one batch of fc1's outputs
    assert acc.Histograms("activations/act")[0].histogram_value.min >= 0.0  # after a ReLU
    # confusion matrix image at each validation
    images = acc.Images("confusion_matrix")
    assert [im.step for im in images] == [e["step"] for e in log.of("epoch")]
    assert images[0].width > 40 and images[0].height == images[0].width


def test_histograms_follow_a_sampling_telemetry(tmp_path):
    telemetry = Telemetry(every=7)
    run_dir, log = _train(tmp_path, callbacks=[telemetry])
    sampled = [e["step"] for e in log.of("telemetry")]
    acc = _accumulator(run_dir)
    assert [e.step for e in acc.Histograms("gradients/fc2")] == sampled
    assert len(sampled) >= 3


def test_off_writes_no_event_files(tmp_path):
    run_dir, _ = _train(tmp_path, tensorboard=False)
    assert not list(run_dir.glob("events.out.tfevents.*"))


def test_confusion_image_shades_rows_and_fits_many_classes():
    image = confusion_image([[5, 0], [1, 4]], ["cat", "dog"])
    assert image.dtype == np.uint8 and image.shape[2] == 3 and image.shape[0] == image.shape[1]
    big = confusion_image(np.eye(100, dtype=int).tolist())
    assert big.shape[0] <= 1000


def test_cli_no_tensorboard_flag(tmp_path, capsys):
    from workbench.cli import main

    project = moons_project(tmp_path, epochs=1)
    assert main(["train", str(project.path), "--runs-dir", str(tmp_path / "runs"), "--no-tensorboard", "--json"]) == 0
    assert main(["train", str(project.path), "--runs-dir", str(tmp_path / "runs"), "--json"]) == 0
    runs = sorted((tmp_path / "runs" / "moons").iterdir())
    assert [bool(list(r.glob("events.out.tfevents.*"))) for r in runs] == [False, True]


def test_confusion_image_titles_its_axes():
    from workbench.training.tensorboard_log import AXIS_TITLE

    image = confusion_image([[5, 0], [1, 4]], ["cat", "dog"])
    top, left = image[:AXIS_TITLE, AXIS_TITLE:], image[AXIS_TITLE:, :AXIS_TITLE]
    assert (top < 128).any() and (left < 128).any()  # "predicted" above, "true" on the left
    assert (image[:AXIS_TITLE, :AXIS_TITLE] == 255).all()  # the corner stays empty
