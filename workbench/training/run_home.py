"""Where a project's runs live: one rule for the Trainer, `workbench runs`, the Runs dock,
the Export dialog and every other view.

- A saved project's runs are beside its file: `<folder>/<stem>.runs/<timestamp>/`. They
  belong to the file (its stem), not to the display name, so two projects called
  "untitled" never mix and a project keeps its runs wherever it was started from.
- An unsaved project's runs go to the user data folder (platformdirs), one folder per
  untitled document: `<user data>/untitled-runs/<session>/<name>/`. Save As moves them
  beside the new file (`adopt_untitled_runs`).
- `--runs-dir DIR` or `$WORKBENCH_RUNS_DIR` override both: `<DIR>/<safe project name>/`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from pathlib import Path

__all__ = ["RUNS_SUFFIX", "safe_name", "override_dir", "project_runs_dir", "runs_base", "untitled_base",
           "adopt_untitled_runs"]

RUNS_SUFFIX = ".runs"
_session_ids = itertools.count(1)


def safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".-")
    return cleaned or "untitled"


def override_dir(runs_dir: Path | str | None = None) -> Path | None:
    """The folder that holds every project's runs when one is set: `runs_dir`, else
    $WORKBENCH_RUNS_DIR; None when runs live with their projects."""
    value = runs_dir or os.environ.get("WORKBENCH_RUNS_DIR")
    return Path(value) if value else None


def untitled_base(project) -> Path:
    """The user-data folder of this untitled document's runs, made up once per Project
    object (a timestamp, the process and a counter: two untitled windows never share)."""
    token = getattr(project, "untitled_runs_id", None)
    if token is None:
        token = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_session_ids)}"
        project.untitled_runs_id = token  # on the object only: never written to the file
    from platformdirs import user_data_dir

    return Path(user_data_dir("model-workbench")) / "untitled-runs" / token


def project_runs_dir(runs_dir: Path | str | None, project) -> Path:
    """The folder holding one project's run folders. `project` is a Project (its file
    decides, see the module docstring) or, with a runs folder, a bare project name."""
    name = project if isinstance(project, str) else project.name
    base = override_dir(runs_dir)
    if base is not None:
        return base / safe_name(name)
    if isinstance(project, str):  # a name alone has no file to live beside
        return Path("runs") / safe_name(name)
    if project.path is not None:
        path = Path(os.path.abspath(Path(project.path).expanduser()))
        return path.parent / f"{path.stem}{RUNS_SUFFIX}"
    return untitled_base(project) / safe_name(name)


def runs_base(runs_dir: Path | str | None, project) -> Path | None:
    """What to hand a training process as its --runs-dir so that it writes where
    `project_runs_dir` says: the override, the untitled folder, or None (the child finds a
    saved project's folder from the file's path itself)."""
    base = override_dir(runs_dir)
    if base is not None:
        return base
    return untitled_base(project) if project.path is None else None


def adopt_untitled_runs(project, new_path: Path) -> Path | None:
    """Save As of an untitled project: move its runs beside `new_path` (into
    `<folder>/<stem>.runs/`, next to runs already there; a name taken gets -2, -3...).
    Returns the new folder, or None when there was nothing to move (an override holds
    the runs, or none were made). For a project that was untitled until this save (its
    runs folder is the one `untitled_base` made for this object), whatever its path now."""
    if override_dir() is not None:
        return None
    source = untitled_base(project) / safe_name(project.name)
    runs = sorted(p for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    if not runs:
        return None
    new_path = Path(os.path.abspath(Path(new_path).expanduser()))
    target = new_path.parent / f"{new_path.stem}{RUNS_SUFFIX}"
    target.mkdir(parents=True, exist_ok=True)
    for run in runs:
        destination = target / run.name
        for n in itertools.count(2):
            if not destination.exists():
                break
            destination = target / f"{run.name}-{n}"
        shutil.move(str(run), str(destination))
    shutil.rmtree(untitled_base(project), ignore_errors=True)
    return target
