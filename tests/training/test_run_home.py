"""Runs live beside the project file they belong to; unsaved projects' runs in the user
data folder; --runs-dir / $WORKBENCH_RUNS_DIR override; `workbench runs PROJECT` finds them."""

from __future__ import annotations

import json

from tests.test_cli import run
from tests.training.run_projects import moons_doc, moons_project, train_run
from workbench.core.project import project_from_dict, save_project
from workbench.training.run_home import adopt_untitled_runs, project_runs_dir, untitled_base
from workbench.training.runs import list_runs


def test_a_saved_projects_runs_are_beside_its_file_by_its_stem(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_RUNS_DIR", raising=False)
    a = moons_project(tmp_path)  # name "moons", file moons.wbproj
    b = project_from_dict(moons_doc())  # the same name, another file
    (tmp_path / "other").mkdir()
    b.path = save_project(b, tmp_path / "other" / "second try.wbproj")
    assert project_runs_dir(None, a) == tmp_path / "moons.runs"
    assert project_runs_dir(None, b) == tmp_path / "other" / "second try.runs"
    made = train_run(a, None, epochs=1)
    assert made.parent == tmp_path / "moons.runs" and (made / "metrics.jsonl").is_file()
    assert [r.path for r in list_runs(project_runs_dir(None, a))] == [made]


def test_unsaved_projects_use_the_user_data_folder_one_each(tmp_path, monkeypatch, _isolated_home):
    monkeypatch.delenv("WORKBENCH_RUNS_DIR", raising=False)
    first, second = project_from_dict(moons_doc()), project_from_dict(moons_doc())
    where = project_runs_dir(None, first)
    assert where.is_relative_to(_isolated_home / "data" / "model-workbench" / "untitled-runs")
    assert where == project_runs_dir(None, first) != project_runs_dir(None, second)
    assert where.name == "moons" and where.parent == untitled_base(first)
    assert "untitled_runs_id" not in json.dumps(first.to_dict())  # never written to the file


def test_runs_dir_and_the_environment_override(tmp_path, monkeypatch):
    project = moons_project(tmp_path)
    assert project_runs_dir(tmp_path / "all", project) == tmp_path / "all" / "moons"
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "env"))
    assert project_runs_dir(None, project) == tmp_path / "env" / "moons"
    assert project_runs_dir(tmp_path / "flag", project) == tmp_path / "flag" / "moons"  # the flag wins
    assert adopt_untitled_runs(project_from_dict(moons_doc()), tmp_path / "x.wbproj") is None


def test_save_as_moves_an_untitled_projects_runs_beside_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_RUNS_DIR", raising=False)
    project = project_from_dict(moons_doc())
    made = train_run(project, None, epochs=1)
    assert made.parent == project_runs_dir(None, project)
    existing = tmp_path / "kept.runs" / made.name  # a run of that name is already there: kept, not overwritten
    existing.mkdir(parents=True)
    target = adopt_untitled_runs(project, tmp_path / "kept.wbproj")
    assert target == tmp_path / "kept.runs"
    assert sorted(p.name for p in target.iterdir()) == sorted([made.name, f"{made.name}-2"])
    assert (target / f"{made.name}-2" / "metrics.jsonl").is_file() and not made.exists()
    assert not untitled_base(project).exists()
    assert adopt_untitled_runs(project, tmp_path / "kept.wbproj") is None  # nothing left to move


def test_cli_trains_beside_the_project_and_lists_its_runs_from_the_project(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("WORKBENCH_RUNS_DIR", raising=False)
    project = moons_project(tmp_path)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # where the command is started does not matter
    code, out, err = run(["train", project.path, "--epochs", "1"], capsys)
    assert code == 0, err
    (made,) = list((tmp_path / "moons.runs").iterdir())
    assert list(elsewhere.iterdir()) == []
    code, out, err = run(["runs", project.path, "--json"], capsys)
    assert code == 0, err
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(made)]
