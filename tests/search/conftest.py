"""A small digits project with a search section, saved to a temp folder."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from workbench.core.project import load_project, save_project
from workbench.search.space import set_search_section

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "digits_cnn.wbproj"
SEARCH = {
    "objective": {"metric": "val_accuracy", "direction": "maximize"},
    "trials": 6,
    "sampler": {"type": "random", "seed": 3},
    "pruner": "median",
    "space": {
        "training.optimizer.lr": {"type": "float", "low": 1e-6, "high": 0.05, "log": True},
        "nodes.conv1.out_channels": {"type": "int", "low": 4, "high": 16, "step": 4},
    },
}


def make_project(folder: Path, search: dict | None = None, epochs: int = 3, name: str = "digits.wbproj"):
    """The digits example, trained briefly on the CPU, with `search` (default SEARCH), saved in `folder`."""
    project = load_project(EXAMPLE)
    project.training.update({"epochs": epochs, "batch_size": 128, "device": "cpu", "tensorboard": False})
    set_search_section(project, copy.deepcopy(SEARCH if search is None else search))
    save_project(project, folder / name)
    return load_project(folder / name)


@pytest.fixture
def sweep_project(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    return make_project(tmp_path)
