"""`workbench sweep`: two worker processes on one SQLite study, --report, and user mistakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from workbench.cli import main
from workbench.search.study import PID, REASON, STOPPED
from tests.search.conftest import SEARCH, make_project

ROOT = Path(__file__).resolve().parents[2]


def workbench(*argv, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


@pytest.mark.slow  # two processes importing torch: ~25 s on an idle 2-core machine
def test_two_worker_processes_share_one_sqlite_study_and_run_distinct_trials(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    project = make_project(tmp_path, {**SEARCH, "trials": 4}, epochs=1)
    out, err = workbench("sweep", project.path, "--workers", "2", "--json").communicate(timeout=600)
    lines = [json.loads(line) for line in out.splitlines()]
    trials = [d for d in lines if d["event"] == "trial"]
    report = lines[-1]
    assert report["event"] == "report" and len(report["trials"]) >= 4, err
    study = optuna.load_study(study_name="digits-cnn", storage=f"sqlite:///{tmp_path / 'digits.sweep.db'}")
    numbers = [t.number for t in study.trials]
    assert len(set(numbers)) == len(numbers) and sorted(d["trial"] for d in trials) == sorted(numbers)
    assert len({t.user_attrs[PID] for t in study.trials}) == 2  # both processes ran trials
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    assert len({d["run_dir"] for d in trials}) == len(trials)


@pytest.mark.slow
def test_sigterm_stops_the_workers_cleanly_and_the_next_run_continues(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    project = make_project(tmp_path, {**SEARCH, "trials": 3}, epochs=200)
    db = tmp_path / "digits.sweep.db"
    child = workbench("sweep", project.path, "--workers", "2")
    assert child.stdout.readline().startswith("study 'digits-cnn'")  # the study exists from here on
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until both workers are training
        time.sleep(1)
        study = optuna.load_study(study_name="digits-cnn", storage=f"sqlite:///{db}")
        if sum(len(t.intermediate_values) > 0 for t in study.trials) == 2:
            break
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 130, err
    study = optuna.load_study(study_name="digits-cnn", storage=f"sqlite:///{db}")
    assert [(t.state, t.user_attrs.get(REASON)) for t in study.trials] == [(TrialState.FAIL, STOPPED)] * 2
    assert "continue the study with: workbench sweep" in out


def test_user_mistakes_are_one_error_line(tmp_path, capsys):
    project = make_project(tmp_path, {**SEARCH, "trials": "many"})
    assert main(["sweep", str(project.path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["error: search.trials: must be a whole number from 1 to 100000, got 'many'"]
    assert main(["sweep", str(make_project(tmp_path, SEARCH, name="ok.wbproj").path), "--timeout", "soon"]) == 2
    assert "--timeout must be a duration" in capsys.readouterr().err
    assert main(["sweep", "--report", "nothing"]) == 2
    assert "--report needs --storage" in capsys.readouterr().err
    assert main(["sweep", str(project.path), "--report", "nothing"]) == 2
    assert "no study database" in capsys.readouterr().err


def test_report_prints_the_trials_and_importances(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'made.db'}"
    study = optuna.create_study(storage=storage, study_name="made", direction="maximize")
    for x, y in ((0.1, 1), (0.5, 2), (0.9, 2), (0.3, 1)):
        study.enqueue_trial({"training.optimizer.lr": x, "nodes.conv1.out_channels": y * 4})
    study.optimize(lambda t: t.suggest_float("training.optimizer.lr", 0, 1)
                   + 0 * t.suggest_int("nodes.conv1.out_channels", 4, 8, step=4), n_trials=4)
    assert main(["sweep", "--report", "made", "--storage", storage]) == 0
    out = capsys.readouterr().out
    assert "study made (maximize): 4 trial(s)" in out and "best: trial 2, value 0.9" in out
    assert "parameter importances (PED-ANOVA):" in out and "training.optimizer.lr" in out
    assert main(["sweep", "--report", "other", "--storage", storage]) == 2
    err = capsys.readouterr().err
    assert "no study named 'other'" in err and "(it has: made)" in err
