"""Run history: epoch rows, time trained across resumes, whether a run can resume, and
many runs' epochs as one CSV table."""

from __future__ import annotations

import csv
import json
import time

import pytest

from tests.training.run_projects import moons_project, train_run
from workbench.core.project import ProjectError
from workbench.training.runs import list_runs, load_run_project, read_history, read_run, resume_refusal, \
    write_metrics_csv


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


def test_history_has_one_row_per_epoch_and_the_csv_one_row_per_run_and_epoch(tmp_path, runs_dir):
    before = time.time()
    first = train_run(moons_project(tmp_path, lr=0.01), runs_dir)
    second = train_run(moons_project(tmp_path, lr=0.05, epochs=3), runs_dir)
    wall = time.time() - before
    rows = read_history(first)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train_loss", "val_loss", "val_accuracy", "lr", "step"} <= set(rows[0]) and "time" not in rows[0]
    assert rows[1]["lr"] == pytest.approx(0.01)
    infos = list_runs(runs_dir)
    assert [i.path for i in infos] == [first, second]
    assert all(0 < i.duration < wall for i in infos)

    target = tmp_path / "out" / "metrics.csv"
    target.parent.mkdir()
    assert write_metrics_csv(infos, target) == 5
    table = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [(r["run"], r["epoch"]) for r in table] == [(first.name, "1"), (first.name, "2"), (second.name, "1"),
                                                        (second.name, "2"), (second.name, "3")]
    assert list(table[0])[:6] == ["project", "run", "epoch", "step", "train_loss", "val_loss"]
    assert {"val_accuracy", "lr", "seconds"} <= set(table[0]) and not {"eta_s", "improved", "monitor"} & set(table[0])
    assert float(table[4]["val_loss"]) == pytest.approx(read_history(second)[2]["val_loss"])
    assert table[0]["project"] == "moons"
    assert [p.name for p in target.parent.iterdir()] == ["metrics.csv"]  # no temp file left behind


def test_a_stopped_run_resumes_and_its_time_excludes_the_pause_between(tmp_path, runs_dir):
    project = moons_project(tmp_path, epochs=3)
    run = train_run(project, runs_dir, stop_after=1)
    stopped = read_run(run)
    assert (stopped.state, stopped.epochs_done, stopped.epochs) == ("stopped", 1, 3)
    assert resume_refusal(stopped) == "" and stopped.to_json()["resumable"] is True
    time.sleep(0.6)
    train_run(project, runs_dir, resume=run)
    done = read_run(run)
    assert (done.state, done.epochs_done) == ("completed", 3)
    assert [r["epoch"] for r in read_history(run)] == [1, 2, 3]
    times = [json.loads(line)["time"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    first_fit = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
                 if json.loads(line)["event"] == "fit_start"][0]["time"]
    assert 0 < done.duration < times[-1] - first_fit - 0.5  # the 0.6 s between the segments is not counted
    assert done.duration > stopped.duration


def test_a_completed_run_resumes_only_to_more_epochs(tmp_path, runs_dir):
    info = read_run(train_run(moons_project(tmp_path), runs_dir))
    assert resume_refusal(info) == "it has already trained 2 epoch(s) of 2; raise the epochs to train longer"
    assert resume_refusal(info, epochs=2) != "" and resume_refusal(info, epochs=3) == ""
    assert info.to_json()["resumable"] is False


def test_a_run_that_died_without_a_word_is_running_and_resumable_with_a_checkpoint(tmp_path, runs_dir):
    run = train_run(moons_project(tmp_path, epochs=3), runs_dir, stop_after=1)
    log = run / "metrics.jsonl"
    lines = log.read_text().splitlines()
    assert json.loads(lines[-1])["state"] == "stopped"
    log.write_text("\n".join(lines[:-1]) + '\n{"event": "epoch", "ep')  # the app died mid-line
    info = read_run(run)
    assert info.state == "running" and info.epochs_done == 1
    assert resume_refusal(info) == ""
    (run / "checkpoint.pt").unlink()
    assert "no checkpoint" in resume_refusal(info)


def test_an_epoch_trained_again_keeps_its_latest_row(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    events = [{"event": "fit_start", "time": 10.0, "epochs": 3},
              {"event": "epoch", "time": 11.0, "epoch": 1, "val_loss": 0.9},
              {"event": "epoch", "time": 12.0, "epoch": 2, "val_loss": 0.8},
              {"event": "fit_start", "time": 50.0, "epochs": 3, "start_epoch": 1},
              {"event": "epoch", "time": 52.0, "epoch": 2, "val_loss": 0.7}, ["not", "an", "event"],
              {"event": "epoch", "time": 53.5, "epoch": 3, "val_loss": 0.6}]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\nnot json\n")
    assert [(r["epoch"], r["val_loss"]) for r in read_history(run)] == [(1, 0.9), (2, 0.7), (3, 0.6)]
    assert read_run(run).duration == pytest.approx(2.0 + 3.5)
    assert read_history(tmp_path / "nowhere") == []


def test_a_run_folder_gives_the_project_as_trained(tmp_path, runs_dir):
    run = train_run(moons_project(tmp_path, lr=0.03), runs_dir)
    assert load_run_project(run).training["optimizer"]["lr"] == 0.03
    assert load_run_project(tmp_path / "moons.wbproj").name == "moons"
    with pytest.raises(ProjectError, match="not a run folder"):
        load_run_project(tmp_path)
    with pytest.raises(ProjectError, match="no such file"):
        load_run_project(tmp_path / "missing.wbproj")
