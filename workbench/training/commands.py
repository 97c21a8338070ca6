"""`workbench train` and `workbench runs`, minus the argument parsing (cli.py owns that).

Exit status of `train`: 0 the run completed, 3 it failed (the message on stderr, the run
folder and its last checkpoint kept), 130 it was stopped with Ctrl-C, SIGTERM or SIGHUP
(resume it with --resume); set-up mistakes raise SetupError, which the CLI prints as one
`error:` line with status 2.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from workbench.core.project import Project, ProjectError
from workbench.training.console import ConsolePrinter, JsonPrinter, format_duration, format_metrics
from workbench.training.control import RunControl
from workbench.training.events import event
from workbench.training.graph_io import SetupError
from workbench.training.runs import default_runs_dir, list_runs, load_run_project, write_metrics_csv

__all__ = ["EXIT_COMPLETED", "EXIT_FAILED", "EXIT_STOPPED", "train", "runs", "runs_diff"]

EXIT_COMPLETED, EXIT_FAILED, EXIT_STOPPED = 0, 3, 130


def train(project: Project, *, epochs: int | None = None, batch_size: int | None = None, device: str | None = None,
          runs_dir: str | None = None, resume: str | None = None, as_json: bool = False,
          max_steps: int | None = None, channel=None, tensorboard: bool | None = None) -> int:
    """`channel`: the GUI's connection (event_channel.py), which sends the callbacks, the
    overrides and the run folder settings, hears every event and controls the run."""
    from workbench.data.checks import describe_paths
    from workbench.training import distributed  # torch: `workbench runs` does without it
    from workbench.training.device import cpu_threads
    from workbench.training.evaluation import Evaluation
    from workbench.training.session import prepare
    from workbench.training.telemetry import Telemetry

    dist = distributed.detect()
    control = RunControl()
    overrides = {"epochs": epochs, "batch_size": batch_size, "device": device, "max_steps": max_steps,
                 "tensorboard": tensorboard}
    if channel is not None:
        spec = channel.spec
        overrides.update(spec.get("overrides") or {})
        runs_dir, resume = spec.get("runs_dir") or runs_dir, spec.get("resume") or resume
        project.path = Path(spec["path"]) if spec.get("path") else None  # the file we read is a snapshot
        callbacks = [*channel.callbacks, channel.sender()]
        channel.attach(control)
    else:
        # evaluation.json in the run folder (what the GUI's Evaluation dock shows for a past run),
        # and a NaN loss traced to the node where it began
        callbacks = [Evaluation(), Telemetry(sample=False)]
        if dist.is_main:
            callbacks.append(JsonPrinter() if as_json else ConsolePrinter())
    threads = cpu_threads(dist.local_world_size, reserve=0 if dist.enabled else 1)
    try:
        session = prepare(project, overrides=overrides, runs_dir=Path(runs_dir) if runs_dir else None,
                          resume=Path(resume) if resume else None, callbacks=callbacks, control=control, dist=dist,
                          num_threads=threads)
    except SetupError as exc:
        if channel is not None:  # the dashboard shows it as it is
            channel.send(event("setup_error", message=str(exc)))
            channel.send(event("state", state="failed", message=str(exc)))
        raise
    previous = _stop_on_signals(control)  # at once: the run folder exists from here on
    try:
        if dist.is_main and not as_json and channel is None:  # where the data really comes from (relative: the project's folder)
            for line in describe_paths(session.trainer.bundle):
                print(f"reading {line}")
        result = session.fit()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        distributed.shutdown()
    if result.state == "failed":
        if dist.is_main or not dist.enabled:
            print(f"error: training failed: {result.message}", file=sys.stderr)
            if session.run_dir is not None:
                print(f"run folder: {session.run_dir} ({_kept(result.saved)})", file=sys.stderr)
        else:
            print(f"error: rank {dist.rank}: training failed: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    if result.state == "stopped":
        if dist.is_main and session.run_dir is not None and not as_json and channel is None:
            print(f"resume with: workbench train {project.path or 'PROJECT'} --resume {session.run_dir}")
        return EXIT_STOPPED
    return EXIT_COMPLETED


def _kept(saved: tuple[int, int] | None) -> str:
    """What the failed run's folder holds, as read back from its checkpoint."""
    if saved is None:
        return "no checkpoint on disk: the run cannot resume"
    epoch, batch = saved
    return f"last checkpoint: epoch {epoch}" + (f", batch {batch}" if batch else "") + "; resume it with --resume"


# Ctrl-C, `kill` and a closed terminal all stop a run the same way (where the platform has them)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _stop_on_signals(control: RunControl) -> dict:
    """First signal: stop cooperatively after the current batch (checkpoint and final weights
    saved, state "stopped"). A second: abort at once. Only the main thread can install
    handlers (the GUI's worker thread never does); returns the ones to put back."""
    def handler(signum, frame):
        if control.stop_requested:
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        again = "Ctrl-C again" if signum == signal.SIGINT else f"{name} again"
        try:
            print(f"\n{'' if signum == signal.SIGINT else f'{name}: '}stopping after this batch ({again} to abort)",
                  file=sys.stderr)
        except (OSError, RuntimeError, ValueError):  # stderr gone (a closed terminal) or busy
            pass
        control.stop(by="Ctrl-C" if signum == signal.SIGINT else name)

    previous = {}
    for signum in STOP_SIGNALS:
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread
            break
    return previous


def _runs_root(directory: str | None) -> Path:
    """A project file's runs folder (run_home.project_runs_dir), else the folder given, else the default."""
    if not directory:
        return default_runs_dir()
    path = Path(directory)
    if path.suffix == ".wbproj" and path.is_file():
        from workbench.core.project import load_project
        from workbench.training.run_home import project_runs_dir

        try:
            return project_runs_dir(None, load_project(path))
        except ProjectError as exc:
            raise SetupError(str(exc)) from None
    return path


def runs(directory: str | None = None, as_json: bool = False, csv_file: str | None = None) -> int:
    """List the runs under `directory` (or of the project file it names), or with `csv_file`
    write their epochs as one CSV table."""
    root = _runs_root(directory)
    if not root.exists():
        raise SetupError(f"{root}: no such folder (no runs yet?)")
    found = list_runs(root)
    if csv_file:
        return _write_csv(found, root, Path(csv_file))
    if as_json:
        for info in found:
            print(json.dumps(info.to_json()))
        return EXIT_COMPLETED
    if not found:
        print(f"no runs under {root}")
        return EXIT_COMPLETED
    rows = [("run", "state", "epochs", "time", "metrics")]
    for info in found:
        try:
            shown = info.path.relative_to(root)
        except ValueError:
            shown = info.path
        epochs = f"{info.epochs_done}/{info.epochs}" if info.epochs else str(info.epochs_done)
        metrics = format_metrics(info.last)
        if info.best and info.best.get("epoch") is not None:
            metrics += f"  best {info.best['metric']} @ epoch {info.best['epoch']}"
        rows.append((str(shown) or ".", info.state, epochs, format_duration(info.duration, unknown="-"), metrics))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}  "
              f"{row[4]}".rstrip())
    for info in found:
        if info.state == "failed" and info.message:
            print(f"{info.path.name}: failed: {info.message}")
    return EXIT_COMPLETED


def _write_csv(found: list, root: Path, target: Path) -> int:
    if not found:
        raise SetupError(f"no runs under {root}: nothing to write to {target}")
    try:
        count = write_metrics_csv(found, target)
    except OSError as exc:
        raise SetupError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(f"wrote {target} ({count} epoch row(s) from {len(found)} run(s))")
    return EXIT_COMPLETED


def runs_diff(old: str, new: str, as_json: bool = False) -> int:
    """What changed from run `old` to run `new` (run folders or project files)."""
    from workbench.core.diff import diff_projects, format_diff

    projects = []
    for path in (old, new):
        try:
            projects.append(load_run_project(Path(path)))
        except ProjectError as exc:
            raise SetupError(str(exc)) from None
    diff = diff_projects(*projects)
    if as_json:
        print(json.dumps({"old": old, "new": new, **diff.to_json()}))
    else:
        print(f"--- {old}\n+++ {new}")
        print("\n".join(format_diff(diff)))
    return EXIT_COMPLETED
