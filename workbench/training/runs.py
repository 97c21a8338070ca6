"""Run folders: `<project's runs folder>/<YYYYmmdd-HHMMSS>/`, the folder as run_home.py says
(beside a saved project as `<stem>.runs/`; unsaved: the user data folder; `--runs-dir` /
`$WORKBENCH_RUNS_DIR`: `<DIR>/<project-name>/`).

    project.wbproj   the project as it was trained (rewritten when the run is resumed)
    metrics.jsonl    one JSON object per line: state, fit_start, epoch, validation and confusion events
    checkpoint.pt    everything needed to resume, rewritten atomically after every epoch
    best.pt          the weights of the best epoch by the monitored metric
    final.pt         the weights when the run ended (completed or stopped)
    error.log        the traceback of a failed run
    tokenizer.json   the vocabulary of a text corpus (see workbench.data.tokenizer)
    preprocess.json  how the data source made each sample (see workbench.data.preprocess)

`read_history` gives a run's epoch rows, `resume_refusal` says whether (and why not) a
run can continue from its checkpoint, `write_metrics_csv` writes many runs' epochs as
one table: the Runs panel and `workbench runs` both use them.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from workbench.core.project import Project, ProjectError, atomic_write_text, load_project, save_project
from workbench.training.callbacks import Callback
from workbench.training.events import FINAL_STATES
from workbench.training.failures import RunWriteError
from workbench.training.run_home import override_dir, project_runs_dir, safe_name

__all__ = ["RunFolder", "RunInfo", "default_runs_dir", "new_run_dir", "list_runs", "read_run", "read_history",
           "resume_refusal", "write_metrics_csv", "load_run_project", "safe_name", "project_runs_dir"]

TOKENIZER_FILE = "tokenizer.json"
PREPROCESS_FILE = "preprocess.json"  # the same name as workbench.data.preprocess.PREPROCESS_FILE
LOGGED_EVENTS = ("state", "fit_start", "epoch", "validation", "confusion", "checkpoint", "log")


def default_runs_dir() -> Path:
    """Where `workbench runs` looks when given no folder or project: $WORKBENCH_RUNS_DIR, else ./runs."""
    return override_dir() or Path("runs")


def new_run_dir(runs_dir: Path | None, project, now: float | None = None) -> Path:
    """Create a fresh, empty run folder in `project_runs_dir(runs_dir, project)` (a suffix
    -2, -3... when the second is taken)."""
    parent = project_runs_dir(runs_dir, project)
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

    def __init__(self, path: Path, project: Project | None = None, tokenizer_json: str | None = None,
                 preprocess: dict | None = None) -> None:
        """`tokenizer_json`: the data's tokenizer (text corpora), saved as tokenizer.json; the
        snapshot's data.params.tokenizer_file then names it, so the reopened run decodes
        with exactly the vocabulary it trained with. `preprocess`: how the data source made
        each sample (workbench.data.preprocess), saved as preprocess.json for `predict`."""
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")
        if tokenizer_json is not None:
            atomic_write_text(self.path / TOKENIZER_FILE, tokenizer_json)
        if preprocess is not None:
            atomic_write_text(self.path / PREPROCESS_FILE, json.dumps(preprocess))
        if project is not None:
            save_project(_copy_for_snapshot(project, tokenizer_json is not None), self.path / "project.wbproj")

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def on_event(self, trainer, event: dict) -> None:
        if event["event"] in LOGGED_EVENTS and not self._metrics.closed:
            try:
                self._metrics.write(json.dumps(event) + "\n")
                self._metrics.flush()
            except OSError as exc:  # a full disk: the Trainer ends the run saying what is kept
                raise RunWriteError("metrics.jsonl", exc) from exc

    def write_checkpoint(self, payload: dict) -> Path:
        from workbench.training import checkpoint  # torch: listing runs does without it

        checkpoint.save(self.checkpoint_path, payload)
        return self.checkpoint_path

    def write_weights(self, name: str, payload: dict) -> Path:
        path = self.path / name
        from workbench.training import checkpoint

        checkpoint.save(path, payload)
        return path

    def write_error(self, details: str) -> None:
        try:
            atomic_write_text(self.path / "error.log", details)
        except OSError:
            pass

    def close(self) -> None:
        if not self._metrics.closed:
            try:
                self._metrics.close()
            except OSError:  # the last lines could not be flushed (full disk): the run already said so
                pass


def _copy_for_snapshot(project: Project, with_tokenizer: bool = False) -> Project:
    data = dict(project.data)
    if with_tokenizer:
        data["params"] = {**(data.get("params") or {}), "tokenizer_file": TOKENIZER_FILE}
    snapshot = Project(project.name, project.graph, data, dict(project.training),
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
    duration: float | None = None  # seconds trained: first fit_start to last event, summed over resumed segments

    def to_json(self) -> dict:
        return {"path": str(self.path), "project": self.project, "state": self.state, "message": self.message,
                "epochs_done": self.epochs_done, "epochs": self.epochs, "started": self.started,
                "duration_s": self.duration, "metrics": self.last, "best": self.best,
                "resumable": not resume_refusal(self)}


def read_run(path: Path) -> RunInfo | None:
    """What metrics.jsonl says about one run folder; None when it is not a run folder."""
    path = Path(path)
    log = path / "metrics.jsonl"
    if not log.is_file():
        return None
    info = RunInfo(path=path, project=path.parent.name, state="running")
    spans: list[list[float]] = []  # first and last event time of each fit (a resume starts another)
    open_span = False  # from a fit_start to the final state that ends it
    for ev in _events(log):
        kind, when = ev.get("event"), ev.get("time")
        timed = isinstance(when, (int, float))
        if kind == "fit_start" and timed:
            spans.append([when, when])
            open_span = True
        elif open_span and timed:
            spans[-1][1] = when
        if kind == "state" and ev.get("state") in FINAL_STATES:
            open_span = False
        if kind == "fit_start":
            info.epochs = ev.get("epochs")
            info.project = ev.get("project", info.project)
            info.started = info.started or when
            info.state, info.message = "running", ""
        elif kind == "epoch":
            info.last = {k: v for k, v in ev.items() if k not in ("event", "time")}
            info.epochs_done = ev.get("epoch", info.epochs_done)
            if ev.get("improved"):
                info.best = {"epoch": ev.get("epoch"), "metric": ev.get("monitor"),
                             "value": ev.get(ev.get("monitor", ""), None)}
        elif kind == "state" and ev.get("state") in FINAL_STATES:
            info.state, info.message = ev["state"], ev.get("message", "")
    if spans:
        info.duration = sum(last - first for first, last in spans)
    return info


def _events(log: Path) -> Iterator[dict]:
    with open(log, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                ev = json.loads(line)  # NaN allowed: a diverged run logs it
            except (ValueError, RecursionError):
                continue  # a line cut short by a crash, or one nested too deeply
            if isinstance(ev, dict):
                yield ev


def read_history(path: Path) -> list[dict]:
    """One row per epoch (the epoch event less "event" and "time"), in epoch order; an epoch
    trained again after a resume keeps its latest row."""
    log = Path(path) / "metrics.jsonl"
    if not log.is_file():
        return []
    rows: dict[int, dict] = {}
    for ev in _events(log):
        if ev.get("event") == "epoch" and isinstance(ev.get("epoch"), int):
            rows[ev["epoch"]] = {k: v for k, v in ev.items() if k not in ("event", "time")}
    return [rows[e] for e in sorted(rows)]


def resume_refusal(info: RunInfo, epochs: int | None = None) -> str:
    """Why the run cannot continue to `epochs` in all (default: its own), or "" when it can:
    what prepare() would refuse, said before trying (a completed run needs more epochs)."""
    if not (info.path / "checkpoint.pt").is_file():
        return "no checkpoint was saved (the run ended before one could be written)"
    target = epochs or info.epochs
    if target is not None and info.epochs_done >= target:
        return (f"it has already trained {info.epochs_done} epoch(s) of {target}; "
                f"raise the epochs to train longer")
    return ""


def load_run_project(path: Path) -> Project:
    """The project as a run trained it (`path` a run folder), or a project file itself."""
    path = Path(path)
    if path.is_dir():
        if not (path / "project.wbproj").is_file():
            raise ProjectError(f"{path}: not a run folder (it has no project.wbproj)")
        path = path / "project.wbproj"
    return load_project(path)


CSV_FIRST = ("epoch", "step", "train_loss", "val_loss")
CSV_SKIP = frozenset({"epochs", "monitor", "improved", "eta_s"})


def write_metrics_csv(runs: Iterable[RunInfo], path: Path) -> int:
    """One row per run and epoch (project, run folder name, then every metric any run has);
    written atomically. Returns the number of rows."""
    table = [(info, read_history(info.path)) for info in runs]
    seen = {key for _, rows in table for row in rows for key in row if key not in CSV_SKIP}
    keys = [k for k in CSV_FIRST if k in seen] + sorted(seen - set(CSV_FIRST))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["project", "run", *keys])
    count = 0
    for info, rows in table:
        for row in rows:
            writer.writerow([info.project, info.path.name, *("" if row.get(k) is None else row[k] for k in keys)])
            count += 1
    atomic_write_text(Path(path), buffer.getvalue())
    return count


def list_runs(root: Path) -> list[RunInfo]:
    """Every run under `root` (a runs folder, one project's folder, or a run folder), oldest first."""
    root = Path(root)
    candidates = [root] + sorted(p for p in root.glob("*") if p.is_dir()) + sorted(p for p in root.glob("*/*") if p.is_dir())
    runs = [info for info in (read_run(p) for p in candidates) if info is not None]
    return sorted(runs, key=lambda r: (r.started or 0.0, str(r.path)))
