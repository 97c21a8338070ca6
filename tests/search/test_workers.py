"""Where local workers run (one GPU each when there are several) and what a killed worker leaves."""

from __future__ import annotations

import socket

import optuna
from optuna.trial import TrialState

from workbench.search import gpus
from workbench.search.space import parse_section
from workbench.search.study import HOST, PID, REASON, STOPPED, counted_trials, fail_orphans, open_study


def test_each_worker_gets_its_own_gpu_when_there_are_several(monkeypatch):
    monkeypatch.setattr(gpus, "visible_gpus", lambda: ["0", "2", "3"])
    envs = gpus.worker_environments(4)
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "2", "3", "0"]
    assert all(isinstance(e["_THREADS"], int) and e["_THREADS"] >= 1 for e in envs)
    monkeypatch.setattr(gpus, "visible_gpus", lambda: ["1"])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert all("CUDA_VISIBLE_DEVICES" not in e for e in gpus.worker_environments(2))


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    assert gpus.visible_gpus() == ["5", "7"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert gpus.visible_gpus() == ["0", "1"]


def test_a_trial_left_running_by_a_killed_process_of_this_machine_becomes_stopped(tmp_path):
    spec, _ = parse_section({"trials": 3, "space": {"training.optimizer.lr": {"type": "float", "low": 0.1, "high": 1}}})
    study = open_study(spec, f"sqlite:///{tmp_path / 's.db'}", "s")
    dead = study.ask()
    dead.set_user_attr(HOST, socket.gethostname())
    dead.set_user_attr(PID, 2**22 + 12345)  # above Linux's pid_max default: no such process
    elsewhere = study.ask()
    elsewhere.set_user_attr(HOST, "another-machine")
    elsewhere.set_user_attr(PID, 2**22 + 12345)
    assert fail_orphans(study) == 1
    trials = study.get_trials()
    assert (trials[0].state, trials[0].user_attrs[REASON]) == (TrialState.FAIL, STOPPED)
    assert trials[1].state == TrialState.RUNNING and counted_trials(study) == 1


def test_a_study_that_optimises_the_other_way_is_refused(tmp_path):
    import pytest

    from workbench.search.study import StudyError

    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(storage=url, study_name="s", direction="minimize")
    spec, _ = parse_section({"objective": "val_accuracy", "space": {"data.val_fraction": {"type": "float", "low": 0.1,
                                                                                          "high": 0.3}}})
    with pytest.raises(StudyError, match="was created to minimize; the search section says maximize"):
        open_study(spec, url, "s")
