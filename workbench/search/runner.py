"""One worker of a sweep: ask the study for a trial, train it as a normal run, tell the result.

Every trial is a run folder made by `prepare()` (so the Runs dock, diff and export work on
it) holding `sweep.json` (study, trial number, params, outcome). Each epoch's objective
value goes to `trial.report`; when the pruner says so the run stops after that epoch and
the trial is PRUNED, its epochs kept. Whatever goes wrong with one trial (the sampled
values make the graph invalid, the loss turns NaN, out of memory) ends that trial as FAIL
with the reason in its `fail_reason` attribute, and the worker asks for the next one. A
stop (RunControl: a signal, the GUI's Stop) ends the running trial as FAIL "stopped";
those do not count towards the study's trials, so running the sweep again continues it.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import optuna
from optuna.trial import TrialState

from workbench.core.atomic import atomic_write_text
from workbench.core.project import Project
from workbench.search.apply import ApplyError, apply_values
from workbench.search.space import SearchSpec
from workbench.search.study import HOST, PID, REASON, RUN_DIR, STOPPED, counted_trials, distributions
from workbench.training.callbacks import Callback
from workbench.training.control import RunControl

__all__ = ["TrialOutcome", "Reporter", "run_trial", "run_worker", "SWEEP_FILE"]

SWEEP_FILE = "sweep.json"


@dataclass
class TrialOutcome:
    number: int
    state: str  # complete | pruned | failed
    value: float | None = None
    params: dict = field(default_factory=dict)
    reason: str = ""
    run_dir: Path | None = None
    seconds: float = 0.0
    epochs: int = 0

    def to_json(self) -> dict:
        return {"event": "trial", "trial": self.number, "state": self.state, "value": self.value,
                "params": self.params, "reason": self.reason, "epochs": self.epochs,
                "run_dir": str(self.run_dir) if self.run_dir else None, "seconds": round(self.seconds, 3)}


class Reporter(Callback):
    """Reports each epoch's objective to the trial and stops the run when the pruner says so."""

    def __init__(self, trial: optuna.Trial, metric: str, direction: str, pruner_name: str) -> None:
        self.trial, self.metric, self.direction, self.pruner_name = trial, metric, direction, pruner_name
        self.values: list[float] = []
        self.pruned_at: int | None = None
        self.missing = ""

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        value, epoch = metrics.get(self.metric), int(metrics.get("epoch", len(self.values) + 1))
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            reported = ", ".join(k for k, v in metrics.items() if k.startswith(("val_", "train_"))
                                 and isinstance(v, float))
            self.missing = f"the runs do not report {self.metric} (they report: {reported})"
            trainer.request_stop(self.missing)
            return
        self.values.append(float(value))
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            trainer.request_stop(f"pruned by the {self.pruner_name.replace('_', ' ')} pruner at epoch {epoch} "
                                 f"({self.metric} {value:.4g})")

    def best(self) -> float | None:
        finite = [v for v in self.values if math.isfinite(v)]
        if not finite:
            return None
        return max(finite) if self.direction == "maximize" else min(finite)


def run_trial(study: optuna.Study, spec: SearchSpec, project: Project, *, runs_dir: Path | None = None,
              control: RunControl | None = None, num_threads: int | None = None, callbacks=()) -> TrialOutcome:
    """Ask for one trial, train it, tell the study how it went."""
    from workbench.training.session import SetupError, prepare

    started = time.monotonic()
    trial = study.ask(distributions(spec))
    trial.set_user_attr(HOST, socket.gethostname())
    trial.set_user_attr(PID, os.getpid())
    outcome = TrialOutcome(trial.number, "failed", params=dict(trial.params))
    reporter = Reporter(trial, spec.metric, spec.direction, spec.pruner)
    session = None
    try:
        candidate = apply_values(project, trial.params)
        if "monitor" not in candidate.training:  # best.pt holds the epoch the trial's value came from
            candidate.training["monitor"] = {"metric": spec.metric, "mode": "max" if spec.direction == "maximize"
                                             else "min"}
        session = prepare(candidate, runs_dir=runs_dir, callbacks=[reporter, *callbacks], control=control,
                          num_threads=num_threads)
        outcome.run_dir = session.run_dir
        if session.run_dir is not None:
            trial.set_user_attr(RUN_DIR, str(session.run_dir))
        _write_tag(outcome, study, spec)
        result = session.fit()
        outcome.epochs = result.epochs_done
        _judge(outcome, result, reporter)
    except (ApplyError, SetupError) as exc:
        outcome.reason = str(exc)
    except KeyboardInterrupt:
        outcome.reason = STOPPED
        _finish(study, trial, outcome, started, spec)
        raise
    except Exception as exc:  # noqa: BLE001 - one trial's crash must not end the sweep
        outcome.reason = f"{type(exc).__name__}: {exc}"
    _finish(study, trial, outcome, started, spec)
    return outcome


def _judge(outcome: TrialOutcome, result, reporter: Reporter) -> None:
    if reporter.pruned_at is not None:
        outcome.state, outcome.value = "pruned", reporter.values[-1]
        outcome.reason = result.message
    elif result.state == "failed":
        outcome.reason = result.message
    elif reporter.missing:
        outcome.reason = reporter.missing
    elif result.state == "stopped":
        outcome.reason = STOPPED
    elif reporter.best() is None:
        outcome.reason = f"{reporter.metric} was never a finite number (NaN or infinite in every epoch)"
    else:
        outcome.state, outcome.value = "complete", reporter.best()


def _finish(study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome, started: float,
            spec: SearchSpec) -> None:
    outcome.seconds = time.monotonic() - started
    if outcome.state == "complete":
        study.tell(trial, outcome.value)
    elif outcome.state == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    else:
        trial.set_user_attr(REASON, outcome.reason or "failed")
        study.tell(trial, state=TrialState.FAIL)
    _write_tag(outcome, study, spec)


def _write_tag(outcome: TrialOutcome, study: optuna.Study, spec: SearchSpec) -> None:
    """sweep.json in the run folder: which study and trial the run is, and how it ended."""
    if outcome.run_dir is None:
        return
    doc = {"study": study.study_name, "trial": outcome.number, "params": outcome.params,
           "objective": {"metric": spec.metric, "direction": spec.direction},
           "state": outcome.state if outcome.seconds else "running", "value": outcome.value,
           "reason": outcome.reason}
    try:
        atomic_write_text(Path(outcome.run_dir) / SWEEP_FILE, json.dumps(doc, indent=2) + "\n")
    except OSError:
        pass  # the run itself reports a full disk


def run_worker(study: optuna.Study, spec: SearchSpec, project: Project, *, trials: int,
               deadline: float | None = None, control: RunControl | None = None, runs_dir: Path | None = None,
               num_threads: int | None = None, on_trial: Callable[[TrialOutcome], None] | None = None,
               callbacks=()) -> list[TrialOutcome]:
    """Run trials until the study holds `trials` of them, `deadline` (time.time()) passes, the
    grid is exhausted or `control` says stop."""
    control = control or RunControl()
    done: list[TrialOutcome] = []
    while not control.stop_requested:
        if deadline is not None and time.time() >= deadline:
            break
        if counted_trials(study) >= trials:
            break
        if isinstance(study.sampler, optuna.samplers.GridSampler) and study.sampler.is_exhausted(study):
            break
        outcome = run_trial(study, spec, project, runs_dir=runs_dir, control=control, num_threads=num_threads,
                            callbacks=callbacks)
        done.append(outcome)
        if on_trial is not None:
            on_trial(outcome)
    return done
