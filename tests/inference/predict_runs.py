"""Tiny trained runs of the bundled examples for the predict tests, trained in-process
through `prepare()` exactly as `workbench train` does (CPU, one thread)."""

from __future__ import annotations

from pathlib import Path

from workbench.core.project import Project, load_project, save_project
from workbench.training.control import RunControl
from workbench.training.session import prepare

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def example(tmp_path: Path, name: str, data: dict | None = None, **training) -> Project:
    """The example saved as tmp_path/<name>.wbproj, its data section updated by `data`."""
    project = load_project(EXAMPLES / f"{name}.wbproj")
    project.training.update({"device": "cpu", **training})
    if data:
        project.data.update(data)
    project.path = save_project(project, Path(tmp_path) / f"{name}.wbproj")
    return project


def train(project: Project, runs_dir: Path):
    """(run folder, the session's data bundle)."""
    session = prepare(project, runs_dir=Path(runs_dir), control=RunControl(), num_threads=1)
    result = session.fit()
    assert result.state == "completed", result.message
    return Path(session.run_dir), session.trainer.bundle
