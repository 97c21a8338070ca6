"""What a study holds, as rows and text: the trials table, the best trial, parameter importances.

`workbench sweep --report` prints these and the Sweep dock shows the same rows. Importances
come from Optuna's PED-ANOVA evaluator (fANOVA needs scikit-learn, which is not a
dependency); with fewer than two finished trials, or one value per parameter, there is
nothing to compare and the report says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import optuna
from optuna.trial import TrialState

from workbench.search.study import REASON, RUN_DIR, STOPPED

__all__ = ["TrialRow", "trial_rows", "best_row", "importances", "format_report", "report_json"]

_STATE = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
          TrialState.RUNNING: "running", TrialState.WAITING: "waiting"}


@dataclass
class TrialRow:
    number: int
    state: str  # complete | pruned | failed | stopped | running | waiting
    value: float | None
    params: dict = field(default_factory=dict)
    seconds: float | None = None
    reason: str = ""
    run_dir: str | None = None
    curve: dict = field(default_factory=dict)  # epoch -> reported value

    def to_json(self) -> dict:
        return {"trial": self.number, "state": self.state, "value": self.value, "params": self.params,
                "seconds": self.seconds, "reason": self.reason, "run_dir": self.run_dir,
                "epochs": len(self.curve)}


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        state = _STATE.get(t.state, t.state.name.lower())
        reason = t.user_attrs.get(REASON, "")
        if state == "failed" and reason == STOPPED:
            state = "stopped"
        seconds = None
        if t.datetime_start is not None and t.datetime_complete is not None:
            seconds = (t.datetime_complete - t.datetime_start).total_seconds()
        value = t.value if t.state == TrialState.COMPLETE else (
            t.intermediate_values[t.last_step] if t.state == TrialState.PRUNED and t.last_step is not None else None)
        rows.append(TrialRow(t.number, state, value, dict(t.params), seconds, reason if state == "failed" else "",
                             t.user_attrs.get(RUN_DIR), dict(t.intermediate_values)))
    return rows


def best_row(study: optuna.Study) -> TrialRow | None:
    """The best COMPLETE trial (None before one has completed)."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    return next((row for row in trial_rows(study) if row.number == best.number), None)


def importances(study: optuna.Study) -> tuple[dict[str, float], str]:
    """(parameter -> importance summing to 1, "") or ({}, why there are none yet)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.value is not None and math.isfinite(t.value)]
    if len(complete) < 2:
        return {}, f"importances need at least 2 completed trials (this study has {len(complete)})"
    varied = [name for name in complete[0].params if len({repr(t.params.get(name)) for t in complete}) > 1]
    if not varied:
        return {}, "importances need the completed trials to differ in at least one parameter"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PED-ANOVA is marked experimental
        try:
            found = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            return {}, f"importances could not be computed yet: {exc}"
    return {k: float(v) for k, v in found.items()}, ""


def report_json(study: optuna.Study) -> dict:
    best = best_row(study)
    found, why = importances(study)
    return {"study": study.study_name, "direction": study.direction.name.lower(),
            "trials": [r.to_json() for r in trial_rows(study)], "best": best.to_json() if best else None,
            "importances": found, "importances_note": why}


def format_report(study: optuna.Study) -> str:
    rows = trial_rows(study)
    names = sorted({name for r in rows for name in r.params})
    header = ["trial", "state", "value", *names, "time"]
    table = [header]
    for r in rows:
        table.append([str(r.number), r.state, _num(r.value), *(_num(r.params.get(n)) for n in names),
                      "-" if r.seconds is None else f"{r.seconds:.1f}s"])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [f"study {study.study_name} ({study.direction.name.lower()}): {len(rows)} trial(s)"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    for r in rows:
        if r.state == "failed" and r.reason:
            lines.append(f"trial {r.number} failed: {r.reason}")
    best = best_row(study)
    if best is not None:
        values = ", ".join(f"{k}={_num(v)}" for k, v in best.params.items())
        lines.append(f"best: trial {best.number}, value {_num(best.value)} ({values})")
        if best.run_dir:
            lines.append(f"best run folder: {best.run_dir}")
    found, why = importances(study)
    if found:
        lines.append("parameter importances (PED-ANOVA):")
        lines += [f"  {name:<{max(map(len, found))}}  {share:.3f}" for name, share in found.items()]
    else:
        lines.append(why)
    return "\n".join(lines)


def _num(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
