"""The Sweep dock: "Search over this…" from the Inspector and Training settings, trials arriving
live from a real study, clicking a trial selects its run, and "Apply best" as one undo step."""

from __future__ import annotations

import threading

import pytest

from workbench.search.space import read_search, search_section
from workbench.ui.sweep.range_dialog import RangeDialog
from tests.search.conftest import SEARCH, make_project


@pytest.fixture
def sweep_window(make_window, tmp_path):
    project = make_project(tmp_path, {**SEARCH, "trials": 3}, epochs=2)
    window = make_window(project.path)
    window.docks["sweep"].show()
    window.docks["sweep"].raise_()
    return window


def answer_dialog(monkeypatch, **fields):
    """The range editor gets these typed in and OK pressed (exec() would wait for a person)."""
    seen = []

    def exec_(dialog):
        seen.append(dialog)
        for name, text in fields.items():
            widget = getattr(dialog, name)
            if name == "type":
                widget.setCurrentText(text)
            elif name == "log":
                widget.setChecked(text)
            else:
                widget.setText(text)
        dialog.accept()
        return RangeDialog.DialogCode.Accepted if dialog.result_dim is not None else RangeDialog.DialogCode.Rejected

    monkeypatch.setattr(RangeDialog, "exec", exec_)
    return seen


def test_search_over_this_from_the_inspector_and_training_settings(sweep_window, monkeypatch):
    window, panel = sweep_window, sweep_window.sweep_panel
    project = window.document.project
    window.inspector.show_node("conv2")
    menu = window.inspector.rows["out_channels"].editor._search_menu.menu()
    action = next(a for a in menu.actions() if a.objectName() == "search_over_this")
    assert action.isEnabled()
    seen = answer_dialog(monkeypatch, low="0", high="64", step="16")  # 0 is refused in the dialog
    action.trigger()
    assert "at least 1" in seen[0].message.text() and "nodes.conv2.out_channels" not in search_section(project)["space"]
    seen = answer_dialog(monkeypatch, low="16", high="64", step="16")
    action.trigger()
    assert seen[0].type.currentText() == "int"
    assert search_section(project)["space"]["nodes.conv2.out_channels"] == {"type": "int", "low": 16, "high": 64, "step": 16}
    lr = window.settings_panels.training.widgets["optimizer.lr"]
    seen = answer_dialog(monkeypatch, low="0.0001", high="0.1")
    next(a for a in lr._search_menu.menu().actions() if a.objectName() == "search_over_this").trigger()
    assert seen[0].log.isChecked()  # a float around its value: a log range is proposed
    assert search_section(project)["space"]["training.optimizer.lr"] == {"type": "float", "low": 0.0001, "high": 0.1,
                                                                         "log": True}
    keys = [panel.dims.item(r, 0).text() for r in range(panel.dims.rowCount())]
    assert "nodes.conv2.out_channels" in keys and read_search(project)[1] == []
    window.document.undo_stack.undo()
    assert search_section(project)["space"]["training.optimizer.lr"] == SEARCH["space"]["training.optimizer.lr"]
    panel.pruner.setCurrentText("successive_halving")
    assert search_section(project)["pruner"] == "successive_halving"
    assert panel.sampler.model().item(3).isEnabled()  # every dimension numeric: CMA-ES offered


def test_trials_arrive_live_select_their_runs_and_apply_best_is_one_undo_step(sweep_window, qtbot):
    from workbench.search.runner import run_worker
    from workbench.search.study import open_study

    window, panel = sweep_window, sweep_window.sweep_panel
    project = window.document.project
    spec, _ = read_search(project)
    study = open_study(spec, panel.storage(), panel.study_name())
    worker = threading.Thread(target=run_worker, args=(study, spec, _copy(project)),  # a worker filling the study
                              kwargs={"trials": 2, "num_threads": 1}, daemon=True)
    worker.start()
    panel.timer.start()
    qtbot.waitUntil(lambda: panel.table.rowCount() >= 1, timeout=120_000)  # the first trial, while it trains
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=300_000)
    panel.poll()
    panel.timer.stop()
    assert panel.table.rowCount() == 2 and panel.table.columnCount() == 6
    states = [panel.table.item(r, 1).text() for r in range(2)]
    assert states == ["complete", "complete"]  # the median pruner waits for 2 completed trials
    assert panel.plots.best_curve.getData()[0] is not None
    row = states.index("complete")
    panel.table.selectRow(row)
    runs = window.docks["runs"].widget()
    assert [str(info.path) for info in runs.selected_runs()] == [panel.rows[row].run_dir]
    before_lr = project.training["optimizer"]["lr"]
    before_channels = project.graph.node("conv1").params["out_channels"]
    stack = window.document.undo_stack
    count = stack.count()
    assert panel.apply_best() == ""
    best = study.best_trial.params
    assert stack.count() == count + 1
    assert project.training["optimizer"]["lr"] == best["training.optimizer.lr"]
    assert project.graph.node("conv1").params["out_channels"] == best["nodes.conv1.out_channels"]
    stack.undo()
    assert project.training["optimizer"]["lr"] == before_lr
    assert project.graph.node("conv1").params["out_channels"] == before_channels


def _copy(project):
    from workbench.search.apply import apply_values

    return apply_values(project, {})


@pytest.mark.slow
def test_start_runs_the_sweep_in_a_child_process_and_stop_ends_it_cleanly(sweep_window, qtbot):
    import optuna

    panel = sweep_window.sweep_panel
    sweep_window.document.project.training["epochs"] = 100  # long enough to be stopped mid-trial
    assert panel.start() == ""
    assert panel.running and not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: any(r.state == "running" and r.curve for r in panel.rows), timeout=300_000)
    panel.stop()
    qtbot.waitUntil(lambda: panel.process is None, timeout=120_000)
    assert "stopped" in panel.status.text(), panel.status.text()
    study = optuna.load_study(study_name=panel.study_name(), storage=panel.storage())
    assert study.trials[-1].state == optuna.trial.TrialState.FAIL and study.trials[-1].user_attrs["fail_reason"] == "stopped"
    assert [panel.table.item(r, 1).text() for r in range(panel.table.rowCount())][-1] == "stopped"
