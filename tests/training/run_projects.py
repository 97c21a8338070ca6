"""Real run folders in a fraction of a second: a tiny MLP on 400 synthetic moons, trained
through `prepare()` exactly as `workbench train` does (shared by the runs, CLI and Runs
panel tests)."""

from __future__ import annotations

from pathlib import Path

from workbench.core.project import Project, project_from_dict, save_project
from workbench.training.callbacks import Callback
from workbench.training.control import RunControl
from workbench.training.session import prepare


def moons_doc(lr: float = 0.01, epochs: int = 2, dropout: float | None = None) -> dict:
    """10 steps per epoch; `dropout` adds a Dropout node between the ReLU and the last Linear."""
    nodes = [
        {"id": "x", "type": "Input", "params": {"shape": [2]}, "pos": [0, 0]},
        {"id": "fc1", "type": "Linear", "params": {"out_features": 16}, "pos": [0, 120]},
        {"id": "act", "type": "ReLU", "params": {}, "pos": [0, 240]},
        {"id": "fc2", "type": "Linear", "params": {"out_features": 2}, "pos": [0, 360]},
        {"id": "out", "type": "Output", "params": {}, "pos": [0, 480]},
    ]
    chain = ["x", "fc1", "act", "fc2", "out"]
    if dropout is not None:
        nodes.append({"id": "drop", "type": "Dropout", "params": {"p": dropout}, "pos": [200, 300]})
        chain.insert(3, "drop")
    return {
        "format": "model-workbench-project",
        "version": 1,
        "name": "moons",
        "graph": {"nodes": nodes, "edges": [{"source": a, "target": b} for a, b in zip(chain, chain[1:])]},
        "data": {"source": "synthetic", "params": {"kind": "moons", "n": 500}, "val_fraction": 0.2, "augment": []},
        "training": {"epochs": epochs, "batch_size": 40, "optimizer": {"type": "Adam", "lr": lr},
                     "loss": {"type": "CrossEntropyLoss"}, "device": "cpu", "seed": 0},
    }


def moons_project(tmp_path: Path, **kwargs) -> Project:
    """The project saved as `tmp_path/moons.wbproj` (a run resolves its data beside the file)."""
    project = project_from_dict(moons_doc(**kwargs))
    project.path = save_project(project, Path(tmp_path) / "moons.wbproj")
    return project


class _StopAfter(Callback):
    def __init__(self, control: RunControl, epoch: int) -> None:
        self.control, self.epoch = control, epoch

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        if metrics["epoch"] == self.epoch:
            self.control.stop()


def train_run(project: Project, runs_dir: Path, stop_after: int | None = None, resume: Path | None = None,
              epochs: int | None = None) -> Path:
    """Train to the end (or stop after epoch `stop_after`, keeping the checkpoint); the run folder."""
    control = RunControl()
    callbacks = [_StopAfter(control, stop_after)] if stop_after else []
    session = prepare(project, overrides={"epochs": epochs}, runs_dir=runs_dir, resume=resume,
                      callbacks=callbacks, control=control, num_threads=1)
    result = session.fit()
    assert result.state == ("stopped" if stop_after else "completed"), result.message
    return session.run_dir
