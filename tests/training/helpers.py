"""Tiny graphs and data sets for training tests (a few hundred samples, a few hundred weights)."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from workbench.core.compile import compile_graph
from workbench.core.graph import Graph
from workbench.core.tensors import TensorInfo
from workbench.data.bundle import DataBundle
from workbench.training.config import parse_config
from workbench.training.losses import make_objective
from workbench.training.runs import RunFolder
from workbench.training.session import seed_everything
from workbench.training.trainer import Trainer


class PairSet(Dataset):
    """((x,), y) items from two tensors; `fail_at` raises like a vanished file at that index."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, fail_at: int | None = None) -> None:
        self.x, self.y, self.fail_at = x, y, fail_at

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        if self.fail_at is not None and i == self.fail_at:
            raise FileNotFoundError(2, "No such file or directory", f"/data/sample_{i}.png")
        return (self.x[i],), self.y[i]


def mlp_graph(features: int = 4, out: int = 3, hidden: int = 16, dropout: float = 0.0) -> Graph:
    g = Graph()
    g.add_node("x", "Input", {"shape": [features]})
    g.add_node("fc1", "Linear", {"out_features": hidden})
    g.add_node("act", "ReLU")
    g.add_node("fc2", "Linear", {"out_features": out})
    g.add_node("out", "Output")
    g.connect("x", "fc1")
    g.connect("fc1", "act")
    last = "act"
    if dropout:
        g.add_node("drop", "Dropout", {"p": dropout})
        g.connect("act", "drop")
        last = "drop"
    g.connect(last, "fc2")
    g.connect("fc2", "out")
    return g


def blobs(n: int = 192, classes: int = 3, features: int = 4, seed: int = 0, val: int = 64, lazy: bool = False,
          fail_at: int | None = None, task: str = "classification") -> DataBundle:
    """Gaussian blobs, one per class: learnable in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, features, generator=g) * 3
    y = torch.randint(0, classes, (n + val,), generator=g)
    x = centres[y] + torch.randn(n + val, features, generator=g)
    if task == "regression":
        y = x.sum(1, keepdim=True) * 0.5
    xt, yt, xv, yv = x[:n], y[:n], x[n:], y[n:]
    train_tensors = None if lazy else ((xt,), yt)
    val_tensors = None if lazy else ((xv,), yv)
    return DataBundle(
        train=PairSet(xt, yt, fail_at), val=PairSet(xv, yv) if val else None, task=task, input_names=("x",),
        classes=[f"c{i}" for i in range(classes)] if task == "classification" else None,
        target_width=1 if task == "regression" else None,
        train_tensors=train_tensors, val_tensors=val_tensors if val else None,
    )


def make_trainer(training: dict | None = None, bundle: DataBundle | None = None, graph: Graph | None = None,
                 run_dir=None, callbacks=(), resume: dict | None = None, control=None, model=None) -> Trainer:
    settings = {"epochs": 3, "batch_size": 32, "optimizer": {"type": "Adam", "lr": 0.01}, "device": "cpu", "seed": 0}
    settings.update(training or {})
    cfg = parse_config(settings)
    bundle = bundle or blobs()
    width = 1 if cfg.loss["type"] in ("MSELoss", "L1Loss", "SmoothL1Loss") else 3
    graph = graph or mlp_graph(out=width)
    seed_everything(cfg.seed)
    if model is None:
        model = compile_graph(graph, "tiny")
        if resume is not None:
            model.load_state_dict(resume["model"])
    objective = make_objective(cfg.loss, bundle.task, TensorInfo((width,)))
    run = RunFolder(run_dir) if run_dir is not None else None
    return Trainer(model, bundle, cfg, objective, callbacks=callbacks, run=run, resume=resume, control=control,
                   project_name="tiny")
