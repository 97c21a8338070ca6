"""Run folders: `<runs_dir>/<project-name>/<YYYYmmdd-HHMMSS>/`.

    project.wbproj   the project as it was trained (rewritten when the run is resumed)
    metrics.jsonl    one JSON object per line: state, fit_start, epoch and confusion events
    checkpoint.pt    everything needed to resume, rewritten atomically after every epoch
    best.pt          the weights of the best epoch by the monitored metric
    final.pt         the weights when the run ended (completed or stopped)
    error.log        the traceback of a failed run

The default runs folder is `runs/` in the current working directory (as Lightning's
`lightning_logs/` and TensorBoard's `runs/`), or `$WORKBENCH_RUNS_DIR` when set.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.project import Project, atomic_write_text, save_project
from workbench.training import checkpoint
from workbench.training.callbacks import Callback

__all__ = ["RunFolder", "RunInfo", "default_runs_dir", "new_run_dir", "list_runs", "read_run", "safe_name"]

LOGGED_EVENTS = ("state", "fit_start", "epoch", "confusion", "checkpoint", "log")


def default_runs_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_RUNS_DIR") or "runs")


def safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".-")
    return cleaned or "untitled"


def new_run_dir(runs_dir: Path, project_name: str, now: float | None = None) -> Path:
    """Create a fresh, empty run folder (a suffix -2, -3... when the second is taken)."""
    parent = Path(runs_dir) / safe_name(project_name)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    for n in range(1, 1000):
        path = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"{parent}: too many runs started at {stamp}")


class RunFolder(Callback):
    """Writes one run's folder; the Trainer calls the write_* methods, events arrive as a callback."""

    def __init__(self, path: Path, project: Project | None = None) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")
        if project is not None:
            save_project(_copy_for_snapshot(project), self.path / "project.wbproj")

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def on_event(self, trainer, event: dict) -> None:
        if event["event"] in LOGGED_EVENTS and not self._metrics.closed:
            self._metrics.write(json.dumps(event) + "\n")
            self._metrics.flush()

    def write_checkpoint(self, payload: dict) -> Path:
        checkpoint.save(self.checkpoint_path, payload)
        return self.checkpoint_path

    def write_weights(self, name: str, payload: dict) -> Path:
        path = self.path / name
        checkpoint.save(path, payload)
        return path

    def write_error(self, details: str) -> None:
        try:
            atomic_write_text(self.path / "error.log", details)
        except OSError:
            pass

    def close(self) -> None:
        if not self._metrics.closed:
            self._metrics.close()


def _copy_for_snapshot(project: Project) -> Project:
    snapshot = Project(project.name, project.graph, dict(project.data), dict(project.training),
                       dict(project.extra), dict(project.graph_extra))
    return snapshot


@dataclass
class RunInfo:
    path: Path
    project: str
    state: str  # completed | stopped | failed | running (or died without a word)
    message: str = ""
    epochs_done: int = 0
    epochs: int | None = None
    started: float | None = None
    last: dict = field(default_factory=dict)  # the last epoch event
    best: dict | None = None

    def to_json(self) -> dict:
        return {"path": str(self.path), "project": self.project, "state": self.state, "message": self.message,
                "epochs_done": self.epochs_done, "epochs": self.epochs, "started": self.started,
                "metrics": self.last, "best": self.best}


def read_run(path: Path) -> RunInfo | None:
    """What metrics.jsonl says about one run folder; None when it is not a run folder."""
    path = Path(path)
    log = path / "metrics.jsonl"
    if not log.is_file():
        return None
    info = RunInfo(path=path, project=path.parent.name, state="running")
    with open(log, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            kind = ev.get("event")
            if kind == "fit_start":
                info.epochs = ev.get("epochs")
                info.project = ev.get("project", info.project)
                info.started = info.started or ev.get("time")
                info.state, info.message = "running", ""
            elif kind == "epoch":
                info.last = {k: v for k, v in ev.items() if k not in ("event", "time")}
                info.epochs_done = ev.get("epoch", info.epochs_done)
                if ev.get("improved"):
                    info.best = {"epoch": ev.get("epoch"), "metric": ev.get("monitor"),
                                 "value": ev.get(ev.get("monitor", ""), None)}
            elif kind == "state" and ev.get("state") in ("completed", "stopped", "failed"):
                info.state, info.message = ev["state"], ev.get("message", "")
    return info


def list_runs(root: Path) -> list[RunInfo]:
    """Every run under `root` (a runs folder, one project's folder, or a run folder), oldest first."""
    root = Path(root)
    candidates = [root] + sorted(p for p in root.glob("*") if p.is_dir()) + sorted(p for p in root.glob("*/*") if p.is_dir())
    runs = [info for info in (read_run(p) for p in candidates) if info is not None]
    return sorted(runs, key=lambda r: (r.started or 0.0, str(r.path)))
