"""The Evaluation callback: per-class figures, matrix cells and worst mistakes that agree
with the model recomputed sample by sample, indices that point at `bundle.val[index]`
(in-memory, lazy and image-file sets), regression points, evaluation.json, and no event
for tasks it does not cover."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.data.makers import png_folder
from tests.training.helpers import blobs, make_trainer, mlp_graph
from workbench.core.compile import compile_graph
from workbench.core.graph import Graph
from workbench.core.tensors import TensorInfo
from workbench.data import load_data
from workbench.data.bundle import DataBundle
from workbench.data.samples import describe_sample
from workbench.training.config import parse_config
from workbench.training.evaluation import (
    CELL_LIMIT, EVALUATION_FILE, POINT_LIMIT, Evaluation, evaluation_task, read_evaluation, regression_summary,
)
from workbench.training.events import EventLog
from workbench.training.losses import make_objective
from workbench.training.runs import RunFolder
from workbench.training.session import seed_everything
from workbench.training.trainer import Trainer

WEAK = {"epochs": 1, "optimizer": {"type": "SGD", "lr": 0.002}}  # a model that still makes many mistakes


def trainer_for(bundle, graph, loss: str, output: TensorInfo, callbacks, run_dir=None, **training) -> Trainer:
    cfg = parse_config({"epochs": 1, "batch_size": 16, "optimizer": {"type": "SGD", "lr": 0.002}, "device": "cpu",
                        "seed": 0, "loss": {"type": loss}, **training})
    seed_everything(0)
    return Trainer(compile_graph(graph, "tiny"), bundle, cfg, make_objective(cfg.loss, bundle.task, output),
                   callbacks=callbacks, run=RunFolder(run_dir) if run_dir else None, project_name="tiny")


def evaluated(trainer: Trainer) -> tuple[dict, EventLog]:
    log = next(cb for cb in trainer.callbacks.callbacks if isinstance(cb, EventLog))
    result = trainer.fit()
    assert result.state == "completed", result.message
    return log.of("evaluation")[-1], log


@torch.no_grad()
def recompute(model, dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true, pred, confidence) of every validation sample, one at a time, in dataset order."""
    model.eval()
    true, pred, conf = [], [], []
    for i in range(len(dataset)):
        (x,), y = dataset[i]
        probs = model(x.unsqueeze(0)).softmax(-1)[0]
        true.append(int(y))
        pred.append(int(probs.argmax()))
        conf.append(float(probs.max()))
    return np.array(true), np.array(pred), np.array(conf)


def check_cells(ev: dict, true, pred, conf) -> None:
    matrix = np.array(ev["matrix"])
    assert matrix.sum() == len(true) == ev["samples"]
    assert sum(len(cell[2]) for cell in ev["cells"]) == sum(min(int(n), CELL_LIMIT) for n in matrix.reshape(-1))
    for t, p, indices, confidences in ev["cells"]:
        assert matrix[t, p] > 0
        assert all(true[i] == t and pred[i] == p for i in indices), (t, p)
        assert confidences == pytest.approx(conf[indices].tolist(), abs=1e-5)
        ordered = sorted(confidences, reverse=t != p)  # mistakes: surest first; correct: least sure first
        assert confidences == ordered


@pytest.mark.parametrize("lazy", [False, True], ids=["tensors", "dataset"])
def test_figures_cells_and_worst_agree_with_the_model_sample_by_sample(lazy):
    log = EventLog()
    bundle = blobs(lazy=lazy, val=96)
    trainer = make_trainer(WEAK, bundle=bundle, callbacks=[Evaluation(), log])
    ev, _ = evaluated(trainer)
    true, pred, conf = recompute(trainer.model, bundle.val)
    wrong = true != pred
    assert 5 < wrong.sum() < len(true), "the weak model should make some mistakes"
    assert ev["task"] == "classification" and ev["epoch"] == 1 and ev["classes"] == ["c0", "c1", "c2"]
    assert ev["mistakes"] == wrong.sum() and ev["accuracy"] == pytest.approx(1 - wrong.mean(), abs=1e-6)
    assert ev["matrix"] == log.of("confusion")[-1]["matrix"]
    for k, row in enumerate(ev["per_class"]):
        tp = int(((pred == k) & (true == k)).sum())
        predicted, support = int((pred == k).sum()), int((true == k).sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert row == {"name": f"c{k}", "precision": pytest.approx(precision, abs=1e-6),
                       "recall": pytest.approx(recall, abs=1e-6), "f1": pytest.approx(f1, abs=1e-6), "support": support}
    check_cells(ev, true, pred, conf)
    worst = ev["worst"]
    assert len(worst) == min(64, wrong.sum())
    assert all(true[w["index"]] == w["true"] != w["pred"] == pred[w["index"]] for w in worst)
    confidences = [w["confidence"] for w in worst]
    assert confidences == sorted(confidences, reverse=True)
    assert confidences[0] == pytest.approx(conf[wrong].max(), abs=1e-5)
    assert json.loads(json.dumps(ev)) == ev  # JSON values only


@pytest.mark.parametrize("lazy", [False, True], ids=["decoded", "read-per-item"])
def test_indices_point_at_image_folder_validation_samples(tmp_path, monkeypatch, lazy):
    if lazy:
        monkeypatch.setattr("workbench.data.sources.image_folder.fits_in_memory", lambda *args: False)
    png_folder(tmp_path / "pets", per_class=12)
    inputs = {"img": TensorInfo((1, 4, 4))}
    bundle = load_data({"source": "image_folder", "params": {"path": "pets"}, "val_fraction": 0.5}, inputs, 3, tmp_path)
    assert (bundle.val_tensors is None) == lazy
    g = Graph()
    for node, kind, params in (("img", "Input", {"shape": [1, 4, 4]}), ("flat", "Flatten", {}),
                               ("fc", "Linear", {"out_features": 2}), ("out", "Output", {})):
        g.add_node(node, kind, params)
    for a, b in (("img", "flat"), ("flat", "fc"), ("fc", "out")):
        g.connect(a, b)
    log = EventLog()
    trainer = trainer_for(bundle, g, "CrossEntropyLoss", TensorInfo((2,)), [Evaluation(), log])
    ev, _ = evaluated(trainer)
    check_cells(ev, *recompute(trainer.model, bundle.val))
    for t, _p, indices, _c in ev["cells"]:  # the gallery's image is the sample the cell counted
        for i in indices:
            shown = describe_sample(bundle, bundle.val, i)
            assert shown.kind == "image" and shown.data.shape == (1, 4, 4)
            assert (shown.data.mean() > 0.45) == (t == 1)  # dogs are the bright ones


def test_binary_logit_gets_two_classes():
    g = mlp_graph(out=1)
    bundle = blobs(classes=2, val=80)
    log = EventLog()
    ev, _ = evaluated(trainer_for(bundle, g, "BCEWithLogitsLoss", TensorInfo((1,)), [Evaluation(), log], epochs=2))
    assert ev["classes"] == ["c0", "c1"] and np.array(ev["matrix"]).sum() == 80
    assert ev["matrix"] == log.of("confusion")[-1]["matrix"]
    assert all(0.5 <= c <= 1 for cell in ev["cells"] for c in cell[3])


def test_regression_points_worst_and_the_run_folder_file(tmp_path):
    log = EventLog()
    bundle = blobs(task="regression", val=64)
    trainer = make_trainer({"epochs": 2, "loss": {"type": "MSELoss"}}, bundle=bundle, callbacks=[Evaluation(), log],
                           run_dir=tmp_path / "run")
    ev, _ = evaluated(trainer)
    with torch.no_grad():
        trainer.model.eval()
        pred = trainer.model(bundle.val.x).reshape(-1).numpy()
    true = bundle.val.y.reshape(-1).numpy()
    assert ev["task"] == "regression" and ev["columns"] == 1 and ev["samples"] == 64
    assert ev["points"]["index"] == list(range(64))
    assert ev["points"]["true"] == pytest.approx(true.tolist(), abs=1e-5)
    assert ev["points"]["pred"] == pytest.approx(pred.tolist(), abs=1e-4)
    errors = [w["error"] for w in ev["worst"]]
    assert errors == sorted(errors, reverse=True) and errors[0] == pytest.approx(np.abs(pred - true).max(), abs=1e-4)
    assert ev["mae"] == pytest.approx(np.abs(pred - true).mean(), abs=1e-5)
    saved = read_evaluation(tmp_path / "run")
    assert saved == {k: v for k, v in ev.items() if k not in ("event", "time")}
    assert (tmp_path / "run" / EVALUATION_FILE).is_file() and len(log.of("evaluation")) == 2


def test_regression_points_are_a_seeded_subsample_of_every_value():
    rng = np.random.default_rng(1)
    true = rng.normal(size=(1500, 2))
    pred = true + rng.normal(scale=0.1, size=(1500, 2))
    pred[7, 1] = np.nan  # a diverged prediction is left out of the plot, not turned into a number
    a, b = regression_summary(true, pred, seed=5), regression_summary(true, pred, seed=5)
    points = a["points"]
    assert a == b and len(points["true"]) == POINT_LIMIT and a["columns"] == 2
    assert all(any(abs(t - v) < 1e-5 for t in true[i]) for i, v in zip(points["index"], points["true"]))
    assert a["worst"][0]["index"] == 7 and a["worst"][0]["pred"][1] is None
    assert json.loads(json.dumps(a, allow_nan=False)) == a


def test_no_evaluation_for_sequence_tasks_and_distributed_runs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 5, 4, generator=g)
    y = (x[..., 0] > 0).long()
    bundle = DataBundle(train=None, val=None, task="sequence", input_names=("x",), classes=["a", "b", "c"],
                        train_tensors=((x[:64],), y[:64]), val_tensors=((x[64:],), y[64:]))
    from workbench.data.datasets import TensorSet

    bundle.train, bundle.val = TensorSet((x[:64],), y[:64]), TensorSet((x[64:],), y[64:])
    graph = Graph()
    for node, kind, params in (("x", "Input", {"shape": [5, 4]}), ("fc", "Linear", {"out_features": 3}),
                               ("out", "Output", {})):
        graph.add_node(node, kind, params)
    graph.connect("x", "fc")
    graph.connect("fc", "out")
    log, evaluation = EventLog(), Evaluation()
    trainer = trainer_for(bundle, graph, "CrossEntropyLoss", TensorInfo((5, 3)), [evaluation, log])
    assert trainer.fit().state == "completed"
    assert log.of("epoch") and not log.of("evaluation") and evaluation.last is None
    objective = make_objective({"type": "CrossEntropyLoss"}, "classification", TensorInfo((3,)))
    assert evaluation_task(objective, "classification") == "classification"
    assert evaluation_task(objective, "classification", distributed=True) is None
    mse = make_objective({"type": "MSELoss"}, "reconstruction", TensorInfo((1, 8, 8)))
    assert evaluation_task(mse, "reconstruction") is None


def test_one_host_transfer_per_validation(monkeypatch):
    """The per-sample figures stay on the device until the validation ends."""
    transfers = []
    real_cpu = torch.Tensor.cpu

    def counting_cpu(self, *args, **kwargs):
        transfers.append(tuple(self.shape))
        return real_cpu(self, *args, **kwargs)

    class Watch(Evaluation):
        def on_validation_batch(self, trainer, inputs, output, target):
            monkeypatch.setattr(torch.Tensor, "cpu", counting_cpu)
            try:
                super().on_validation_batch(trainer, inputs, output, target)
            finally:
                monkeypatch.setattr(torch.Tensor, "cpu", real_cpu)

        def on_validation_end(self, trainer, metrics):
            monkeypatch.setattr(torch.Tensor, "cpu", counting_cpu)
            try:
                super().on_validation_end(trainer, metrics)
            finally:
                monkeypatch.setattr(torch.Tensor, "cpu", real_cpu)

    make_trainer({"epochs": 2, "batch_size": 16}, callbacks=[Watch()]).fit()
    assert transfers == [(64, 4), (64, 4)]  # one [samples, (true, pred, confidence, loss)] read per validation


def test_samples_for_the_gallery_per_modality():
    from workbench.data.datasets import TensorSet

    def bundle(modality, x, extra=None):
        return DataBundle(train=None, val=TensorSet((x,), torch.zeros(len(x))), task="classification",
                          input_names=("x",), modality=modality, extra=extra or {})

    words = bundle("tokens", torch.tensor([[2, 3, 1, 0, 0]]), {"vocab": ["<pad>", "<unk>", "good", "film"],
                                                                "pad_index": 0, "unk_index": 1})
    assert describe_sample(words, words.val, 0).data == "good film <unk>"
    chars = bundle("tokens", torch.tensor([[2, 3, 2, 0]]), {"vocab": ["<pad>", "<unk>", "a", "b"], "pad_index": 0,
                                                              "unk_index": 1})
    assert describe_sample(chars, chars.val, 0).data == "aba"
    ids = bundle("tokens", torch.arange(1, 41).reshape(1, 40))
    assert describe_sample(ids, ids.val, 0).data.endswith("23 24 …")
    clip = bundle("waveforms", torch.randn(1, 2, 300))
    wave = describe_sample(clip, clip.val, 0)
    assert wave.kind == "waveform" and wave.data.shape == (300,)
    row = bundle("features", torch.tensor([[0.5, -1.25, 3.0, 4, 5, 6, 7]]))
    assert describe_sample(row, row.val, 0).data == "0.5 -1.25 3 4 5 6 …"
