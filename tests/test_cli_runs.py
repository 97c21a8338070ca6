"""`workbench runs`: the listing with time trained, `--csv` and `--diff`, and their mistakes."""

from __future__ import annotations

import csv
import json
import re

import pytest

from tests.training.run_projects import moons_project, train_run
from workbench.cli import main


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A run at lr 0.01, then one at lr 0.001 with a Dropout node added."""
    tmp = tmp_path_factory.mktemp("cli-runs")
    runs = tmp / "runs"
    first = train_run(moons_project(tmp), runs)
    second = train_run(moons_project(tmp, lr=0.001, dropout=0.2, epochs=3), runs)
    return runs, first, second


def test_listing_shows_time_trained(two_runs, capsys):
    runs, first, _ = two_runs
    assert main(["runs", str(runs)]) == 0
    header, line, _ = capsys.readouterr().out.splitlines()
    assert header.split()[:5] == ["run", "state", "epochs", "time", "metrics"]
    assert line.startswith(f"moons/{first.name}") and line.split()[1:3] == ["completed", "2/2"]
    assert re.fullmatch(r"\d+:\d\d", line.split()[3])  # m:ss (a loaded machine takes seconds, not 0:00)


def test_json_listing_has_time_trained_and_whether_a_run_can_resume(two_runs, capsys):
    runs, first, second = two_runs
    assert main(["runs", str(runs), "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in listed] == [str(first), str(second)]
    assert all(r["duration_s"] > 0 and r["resumable"] is False for r in listed)  # both completed


def test_csv_writes_one_row_per_run_and_epoch(two_runs, tmp_path, capsys):
    runs, first, second = two_runs
    target = tmp_path / "metrics.csv"
    assert main(["runs", str(runs), "--csv", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target} (5 epoch row(s) from 2 run(s))\n"
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [(r["run"], int(r["epoch"])) for r in rows] == [(first.name, 1), (first.name, 2), (second.name, 1),
                                                             (second.name, 2), (second.name, 3)]
    assert all(0.0 <= float(r["val_accuracy"]) <= 1.0 for r in rows)


def test_diff_prints_the_settings_and_graph_changes(two_runs, capsys):
    _, first, second = two_runs
    assert main(["runs", "--diff", str(first), str(second)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"--- {first}", f"+++ {second}"]
    assert "  training.optimizer.lr: 0.01 -> 0.001" in out and "  training.epochs: 2 -> 3" in out
    assert "  + node drop (Dropout) p=0.2" in out
    assert "  - edge act -> fc2" in out and "  + edge act -> drop" in out


def test_diff_json(two_runs, capsys):
    _, first, second = two_runs
    assert main(["runs", "--diff", str(first), str(second / "project.wbproj"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"key": "training.optimizer.lr", "old": 0.01, "new": 0.001} in out["settings"]
    assert [n["id"] for n in out["graph"]["nodes_added"]] == ["drop"]
    assert main(["runs", "--diff", str(first), str(first), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"] == []


@pytest.mark.parametrize("args, message", [
    (["runs", "--diff", "{first}", "{tmp}"], "not a run folder"),
    (["runs", "--diff", "{first}", "{tmp}/gone.wbproj"], "no such file"),
    (["runs", "--diff", "{first}"], "expected 2 arguments"),
    (["runs", "{runs}", "--diff", "{first}", "{first}"], "give no DIR or --csv"),
    (["runs", "{tmp}", "--csv", "{tmp}/out.csv"], "no runs under"),
    (["runs", "{runs}", "--csv", "{tmp}/no/such/folder/out.csv"], "cannot write"),
])
def test_mistakes_are_one_error_line_and_exit_2(two_runs, tmp_path, capsys, args, message):
    runs, first, _ = two_runs
    args = [a.format(first=first, tmp=tmp_path, runs=runs) for a in args]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own mistakes
        code = exc.code
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], captured.err
