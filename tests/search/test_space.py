"""The search section: its shape, its messages, its round trip through the project file, applying values."""

from __future__ import annotations

import copy
import math

import pytest

from workbench.core.project import load_project, project_from_dict, save_project
from workbench.search.apply import ApplyError, apply_values
from workbench.search.space import SEARCH_VERSION, parse_duration, read_search, search_section, set_search_section
from tests.search.conftest import SEARCH, make_project

ISSUE_SHAPE = {"objective": {"metric": "val_accuracy", "direction": "maximize"}, "trials": 20, "space": {
    "training.optimizer.lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
    "nodes.conv1.out_channels": {"type": "int", "low": 8, "high": 64, "step": 8},
    "training.optimizer.type": {"type": "categorical", "choices": ["Adam", "SGD"]}}}


def problems_of(project, space=None, **section):
    doc = {**copy.deepcopy(ISSUE_SHAPE), **section}
    if space is not None:
        doc["space"] = space
    set_search_section(project, doc)
    spec, problems = read_search(project)
    assert (spec is None) == bool(problems)
    return {p.field: p.message for p in problems}


def test_the_issue_shape_reads_and_survives_save_and_load(tmp_path):
    project = make_project(tmp_path, ISSUE_SHAPE)
    spec, problems = read_search(project)
    assert problems == []
    assert (spec.metric, spec.direction, spec.trials, spec.sampler, spec.pruner) == (
        "val_accuracy", "maximize", 20, "tpe", "median")
    lr = spec.space["training.optimizer.lr"]
    assert (lr.type, lr.low, lr.high, lr.log) == ("float", 1e-4, 0.1, True)
    assert spec.space["nodes.conv1.out_channels"].step == 8
    assert spec.space["training.optimizer.type"].choices == ("Adam", "SGD")
    save_project(project, tmp_path / "again.wbproj")
    assert search_section(load_project(tmp_path / "again.wbproj")) == ISSUE_SHAPE
    assert parse_again(spec.to_json()) == spec.to_json()


def parse_again(doc):
    from workbench.search.space import parse_section

    spec, problems = parse_section(doc)
    assert problems == []
    return spec.to_json()


def test_each_mistake_is_named_by_its_key(tmp_path):
    project = make_project(tmp_path, ISSUE_SHAPE)
    found = problems_of(project, {
        "training.optimizer.lr": {"type": "float", "low": 0, "high": 0.1, "log": True},
        "training.batch_size": {"type": "int", "low": 64, "high": 8},
        "training.epochs": {"type": "float", "low": 1, "high": 3},
        "training.lrr": {"type": "float", "low": 0.1, "high": 0.2},
        "nodes.conv1.out_channels": {"type": "int", "low": 0, "high": 64, "step": 8},
        "nodes.conv1.kernel_size": {"type": "int", "low": 1, "high": 6, "step": 4},
        "nodes.conv9.out_channels": {"type": "int", "low": 1, "high": 4},
        "nodes.conv1.outchannels": {"type": "int", "low": 1, "high": 4},
        "nodes.conv1.padding_mode": {"type": "categorical", "choices": ["zeros", "mirror"]},
        "nodes.conv1.bias": {"type": "int", "low": 0, "high": 1},
        "training.optimizer.type": {"type": "categorical", "choices": ["Adam", "Lion"]},
        "data.val_fraction": {"type": "float", "low": 0.1, "high": 1.0},
        "model.depth": {"type": "int", "low": 1, "high": 2},
        "nodes.fc.out_features": {"type": "int", "low": 1, "high": 9, "colour": "red"},
    }, trials=0, sampler="annealing")
    key = "search.space['{}']".format
    assert "log scale needs low above 0" in found[key("training.optimizer.lr") + ".low"]
    assert "low (64) is above high (8)" in found[key("training.batch_size")]
    assert "must be a whole number" in found[key("training.epochs")]
    assert "training has no 'lrr'" in found[key("training.lrr")]
    assert "at least 1, got 0" in found[key("nodes.conv1.out_channels")]
    assert "multiple of step" in found[key("nodes.conv1.kernel_size") + ".step"]
    assert "no node 'conv9'" in found[key("nodes.conv9.out_channels")]
    assert "no parameter 'outchannels'" in found[key("nodes.conv1.outchannels")]
    assert "choice 'mirror'" in found[key("nodes.conv1.padding_mode")] and "'reflect'" in found[key("nodes.conv1.padding_mode")]
    assert "searched as categorical, not int" in found[key("nodes.conv1.bias")]
    assert "'Lion'" in found[key("training.optimizer.type")]
    assert "not including 1" in found[key("data.val_fraction")]
    assert "not a setting" in found[key("model.depth")]
    assert "not a key of an int range" in found[key("nodes.fc.out_features") + ".colour"]
    assert "from 1 to" in found["search.trials"]
    assert "tpe, random, grid, cmaes" in found["search.sampler"]


def test_keys_below_the_optimizer_follow_the_searched_types(tmp_path):
    project = make_project(tmp_path, ISSUE_SHAPE)
    momentum = {"training.optimizer.momentum": {"type": "float", "low": 0.0, "high": 0.9}}
    assert problems_of(project, {**ISSUE_SHAPE["space"], **momentum}) == {}  # SGD is among the choices
    only_adam = {"training.optimizer.type": {"type": "categorical", "choices": ["Adam"]}, **momentum}
    assert "has no 'momentum'" in problems_of(project, only_adam)["search.space['training.optimizer.momentum']"]


def test_samplers_refuse_what_they_cannot_search(tmp_path):
    project = make_project(tmp_path, ISSUE_SHAPE)
    assert "categorical" in problems_of(project, sampler="cmaes")["search.sampler"]
    grid = problems_of(project, sampler="grid")
    assert "needs a step" in grid["search.space['training.optimizer.lr']"]


def test_versions_newer_sections_are_refused_missing_section_explained(tmp_path):
    project = make_project(tmp_path, ISSUE_SHAPE)
    assert "newer Model Workbench" in problems_of(project, version=SEARCH_VERSION + 1)["search.version"]
    set_search_section(project, None)
    spec, problems = read_search(project)
    assert spec is None and "no search section" in problems[0].message
    set_search_section(project, ["not", "an", "object"])
    assert "must be an object" in read_search(project)[1][0].message


def test_a_bad_section_never_stops_the_project_from_opening(tmp_path):
    doc = make_project(tmp_path, ISSUE_SHAPE).to_dict()
    doc["search"] = {"space": {"x": 1}, "trials": "many"}
    project = project_from_dict(doc)
    assert read_search(project)[0] is None


def test_durations():
    assert [parse_duration(v) for v in ("90", "90s", "30m", "1h30m", 45, "2d")] == [90, 90, 1800, 5400, 45, 172800]
    assert [parse_duration(v) for v in ("soon", "", "-5", 0, True, "5x")] == [None] * 6


def test_values_apply_to_a_copy(tmp_path):
    project = make_project(tmp_path, SEARCH)
    before = project.to_dict()
    changed = apply_values(project, {"nodes.conv1.out_channels": 12, "training.optimizer.lr": 0.02,
                                     "training.scheduler.type": "StepLR", "data.val_fraction": 0.3})
    assert project.to_dict() == before
    assert changed.graph.node("conv1").params["out_channels"] == 12
    assert changed.graph.node("conv1").params["kernel_size"] == 3
    assert changed.training["optimizer"] == {"type": "Adam", "lr": 0.02}
    assert changed.training["scheduler"] == {"type": "StepLR"}
    assert changed.data["val_fraction"] == 0.3 and changed.path == project.path
    with pytest.raises(ApplyError, match="no node 'gone'"):
        apply_values(project, {"nodes.gone.p": 0.5})


def test_an_older_section_is_migrated_in_order(tmp_path, monkeypatch):
    from workbench.search import space

    def rename_trials(section):  # a made-up version 1 -> 2 change: "trials" was called "n_trials"
        section["trials"] = section.pop("n_trials")
        return section

    monkeypatch.setattr(space, "SEARCH_VERSION", 2)
    monkeypatch.setitem(space.SECTION_MIGRATIONS, 1, rename_trials)
    project = make_project(tmp_path, {**{k: v for k, v in ISSUE_SHAPE.items() if k != "trials"}, "version": 1,
                                      "n_trials": 7})
    spec, problems = read_search(project)
    assert problems == [] and spec.trials == 7 and spec.to_json()["version"] == 2
    assert search_section(project)["n_trials"] == 7  # the file's own section is left as it was


def test_pruner_options(tmp_path):
    from workbench.search.study import build_pruner

    project = make_project(tmp_path, ISSUE_SHAPE)
    found = problems_of(project, pruner={"type": "median", "warmup_epochs": -1, "patience": 3})
    assert "from 0" in found["search.pruner.warmup_epochs"] and "n_startup_trials, warmup_epochs" in found["search.pruner.patience"]
    set_search_section(project, {**ISSUE_SHAPE, "pruner": {"type": "median", "n_startup_trials": 4, "warmup_epochs": 2}})
    spec, _ = read_search(project)
    pruner = build_pruner(spec)
    assert (pruner._n_startup_trials, pruner._n_warmup_steps) == (4, 3)  # epochs 1 and 2 are never judged
    assert spec.to_json()["pruner"] == {"type": "median", "n_startup_trials": 4, "warmup_epochs": 2}


def test_the_cmaes_sampler_searches_a_numeric_space():
    import optuna

    from workbench.search.space import parse_section
    from workbench.search.study import build_sampler, distributions

    spec, problems = parse_section({"objective": {"metric": "val_loss", "direction": "minimize"}, "trials": 40,
                                    "sampler": {"type": "cmaes", "seed": 0},
                                    "space": {"training.optimizer.lr": {"type": "float", "low": 1e-4, "high": 1.0,
                                                                        "log": True},
                                              "training.epochs": {"type": "int", "low": 1, "high": 20}}})
    assert not problems
    sampler = build_sampler(spec)
    assert isinstance(sampler, optuna.samplers.CmaEsSampler)
    study = optuna.create_study(sampler=sampler)
    for _ in range(40):  # a bowl around lr 0.01, 8 epochs: CMA-ES walks into it
        trial = study.ask(distributions(spec))
        lr, epochs = trial.params["training.optimizer.lr"], trial.params["training.epochs"]
        study.tell(trial, (math.log10(lr) + 2) ** 2 + ((epochs - 8) / 4) ** 2)
    assert study.best_value < 0.3
