"""Real sweeps: an SQLite study, real training on digits (a few short epochs), in this process."""

from __future__ import annotations

import json

import optuna
from optuna.trial import TrialState

from workbench.search.apply import apply_values
from workbench.search.report import format_report, importances, trial_rows
from workbench.search.runner import SWEEP_FILE, run_worker
from workbench.search.space import read_search
from workbench.search.study import REASON, STOPPED, counted_trials, default_storage, open_study
from workbench.training.callbacks import Callback
from workbench.training.control import RunControl
from workbench.training.runs import list_runs, read_run
from tests.search.conftest import make_project


def sweep(project, trials=None, **kw):
    spec, problems = read_search(project)
    assert problems == []
    study = open_study(spec, default_storage(project.path), "study")
    outcomes = run_worker(study, spec, project, trials=trials or spec.trials, num_threads=1, **kw)
    return spec, study, outcomes


def test_six_trials_are_runs_the_bad_lrs_are_pruned_and_the_best_applies(sweep_project, tmp_path):
    spec, study, outcomes = sweep(sweep_project)
    assert (tmp_path / "digits.sweep.db").is_file()
    assert [o.number for o in outcomes] == list(range(6))
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) >= 2 and TrialState.PRUNED in states, states
    runs = {str(info.path): info for info in list_runs(tmp_path / "runs")}
    for trial, outcome in zip(study.trials, outcomes):
        tag = json.loads((outcome.run_dir / SWEEP_FILE).read_text())
        assert (tag["study"], tag["trial"], tag["params"]) == ("study", trial.number, trial.params)
        assert str(outcome.run_dir) in runs and trial.user_attrs["run_dir"] == str(outcome.run_dir)
        info = runs[str(outcome.run_dir)]
        if trial.state == TrialState.PRUNED:  # stopped early, its epochs kept, said so
            assert tag["state"] == "pruned" and info.state == "stopped" and "pruned by the median pruner" in info.message
            assert 1 <= info.epochs_done < 3 and len(trial.intermediate_values) == info.epochs_done
        else:
            assert info.state == "completed" and trial.value == max(trial.intermediate_values.values())
    best = study.best_trial
    assert best.value > 0.5 and best.params["training.optimizer.lr"] > 1e-4
    applied = apply_values(sweep_project, best.params)
    assert applied.training["optimizer"]["lr"] == best.params["training.optimizer.lr"]
    assert applied.graph.node("conv1").params["out_channels"] == best.params["nodes.conv1.out_channels"]
    text = format_report(study)
    assert f"best: trial {best.number}" in text and "pruned" in text
    assert set(importances(study)[0]) == set(spec.space)


def test_an_invalid_sampled_graph_is_a_failed_trial_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    project = make_project(tmp_path, {"objective": "val_accuracy", "trials": 2, "sampler": "grid", "space": {
        "nodes.conv1.kernel_size": {"type": "categorical", "choices": [3, 13]}}}, epochs=1)
    _, study, outcomes = sweep(project)
    by_kernel = {t.params["nodes.conv1.kernel_size"]: t for t in study.trials}
    assert by_kernel[3].state == TrialState.COMPLETE
    failed = by_kernel[13]
    assert failed.state == TrialState.FAIL
    assert "conv1" in failed.user_attrs[REASON] and "kernel" in failed.user_attrs[REASON].lower()
    assert next(r for r in trial_rows(study) if r.number == failed.number).reason == failed.user_attrs[REASON]


class StopAtFirstEpoch(Callback):
    def __init__(self, control):
        self.control = control

    def on_epoch_end(self, trainer, metrics):
        self.control.stop(by="the test")


def test_stop_marks_the_running_trial_stopped_and_running_again_continues(sweep_project, tmp_path):
    control = RunControl()
    _, study, outcomes = sweep(sweep_project, trials=2, control=control, callbacks=[StopAtFirstEpoch(control)])
    assert [o.reason for o in outcomes] == [STOPPED]
    assert study.trials[0].state == TrialState.FAIL and counted_trials(study) == 0
    assert read_run(outcomes[0].run_dir).state == "stopped"
    _, study, more = sweep(sweep_project, trials=2)
    assert [o.number for o in more] == [1, 2] and counted_trials(study) == 2
    assert [r.state for r in trial_rows(study)][0] == "stopped"
    assert optuna.load_study(study_name="study", storage=default_storage(sweep_project.path)).trials[2].state in (
        TrialState.COMPLETE, TrialState.PRUNED)
