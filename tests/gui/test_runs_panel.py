"""The Runs dock: the open project's runs (newest first) with status, epochs, best metric and
time; selected runs overlaid in distinct colours; a diff of two; PNG and CSV export; and
a stopped run resumed from the panel to completion."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from tests.gui.test_training_dashboard import click
from tests.training.run_projects import moons_project, train_run
from workbench.core.commands import SetParams
from workbench.training.runs import read_history
from workbench.ui.settings_panels.common import SectionCommand

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """lr 0.01 for 2 epochs, then lr 0.001 for 3 with a Dropout node; the project file is the second's."""
    tmp = tmp_path_factory.mktemp("runs-panel")
    runs = tmp / "runs"
    older = train_run(moons_project(tmp), runs)
    newer = train_run(moons_project(tmp, lr=0.001, epochs=3, dropout=0.2), runs)
    return tmp / "moons.wbproj", runs, older, newer


def open_panel(window, rows: int, qtbot):
    window.docks["runs"].raise_()
    panel = window.docks["runs"].widget()
    qtbot.waitUntil(lambda: panel.isVisible() and panel.table.rowCount() == rows, timeout=5000)
    return panel


def cell(panel, row: int, column: str) -> str:
    return panel.table.item(row, ("date", "status", "epochs", "best", "time").index(column)).text()


def click_row(panel, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    rect = panel.table.visualRect(panel.table.model().index(row, 1))
    QTest.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def test_runs_are_listed_and_two_selected_are_overlaid_in_distinct_colours(qtbot, make_window, two_runs, monkeypatch):
    project, runs, older, newer = two_runs
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    window = make_window(project)
    panel = open_panel(window, 2, qtbot)
    assert [info.path for info in panel.runs] == [newer, older]  # newest first
    assert [cell(panel, 0, c) for c in ("status", "epochs")] == ["completed", "3/3"]
    assert [cell(panel, 1, c) for c in ("status", "epochs")] == ["completed", "2/2"]
    best = read_history(newer)[-1]["val_loss"]
    assert cell(panel, 0, "best").startswith(f"val loss {best:.4g}")
    assert re.fullmatch(r"\d+:\d\d", cell(panel, 0, "time")) and cell(panel, 0, "date").startswith("20")
    assert not panel.curves and not panel.png_button.isEnabled()

    click_row(panel, 0)
    click_row(panel, 1, CTRL)
    assert [info.path for info in panel.selected_runs()] == [newer, older]
    assert [panel.metric_choice.itemText(i) for i in range(3)] == ["val loss", "train loss", "val accuracy"]
    first, second = panel.curves
    assert first.opts["pen"].color().name() != second.opts["pen"].color().name()
    assert list(first.getData()[0]) == [1, 2, 3] and list(second.getData()[0]) == [1, 2]
    assert list(second.getData()[1]) == pytest.approx([r["val_loss"] for r in read_history(older)])
    legend = panel.plot.getPlotItem().legend
    assert [label.text for _sample, label in legend.items] == [newer.name, older.name]
    assert not panel.table.item(0, 0).icon().isNull()  # the row's swatch matches its curve

    panel.metric_choice.setCurrentIndex(panel.metric_choice.findText("val accuracy"))
    assert list(panel.curves[0].getData()[1]) == pytest.approx([r["val_accuracy"] for r in read_history(newer)])
    assert panel.plot.getPlotItem().titleLabel.text.startswith("val accuracy")
    click(panel.refresh_button)
    assert [info.path for info in panel.selected_runs()] == [newer, older] and len(panel.curves) == 2
    assert not panel.resume_button.isEnabled()  # two selected; and both are complete
    click_row(panel, 1)
    assert len(panel.curves) == 1 and not panel.resume_button.isEnabled()
    assert panel.resume_button.toolTip() == "the open project's graph is not the one this run trained"


def test_diff_of_two_runs_shows_the_lr_change_and_the_added_node(qtbot, make_window, two_runs, monkeypatch):
    project, runs, older, newer = two_runs
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    window = make_window(project)
    panel = open_panel(window, 2, qtbot)
    click_row(panel, 0)
    assert not panel.diff_button.isEnabled()
    click_row(panel, 1, CTRL)
    click(panel.diff_button)
    dialog = panel.diff_dialog
    assert dialog.isVisible() and not dialog.isModal()
    assert dialog.windowTitle() == f"Changes from run {older.name} to run {newer.name}"
    lines = dialog.text.toPlainText().splitlines()
    assert "  training.optimizer.lr: 0.01 -> 0.001" in lines and "  training.epochs: 2 -> 3" in lines
    assert "  + node drop (Dropout) p=0.2" in lines and "  + edge act -> drop" in lines
    click(panel.diff_button)  # again: one diff window, not a pile of them
    assert panel.diff_dialog is not dialog and panel.diff_dialog.isVisible() and not dialog.isVisible()


def test_export_csv_and_png(qtbot, make_window, two_runs, tmp_path, monkeypatch):
    project, runs, older, newer = two_runs
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    window = make_window(project)
    panel = open_panel(window, 2, qtbot)
    answers = []
    monkeypatch.setattr(panel, "ask_save_path", lambda title, name, filter_: answers.pop(0))

    answers.append(str(tmp_path / "all"))  # no selection: every run; the suffix is added
    click(panel.csv_button)
    rows = list(csv.DictReader((tmp_path / "all.csv").open(encoding="utf-8")))
    assert [(r["run"], r["epoch"]) for r in rows] == [(newer.name, "1"), (newer.name, "2"), (newer.name, "3"),
                                                      (older.name, "1"), (older.name, "2")]
    assert "5 epoch row(s) of 2 run(s)" in panel.message.text()

    click_row(panel, 1)
    answers.append(str(tmp_path / "older.csv"))
    click(panel.csv_button)
    assert len(list(csv.DictReader((tmp_path / "older.csv").open(encoding="utf-8")))) == 2

    click_row(panel, 0, CTRL)
    answers.append(str(tmp_path / "plot.png"))
    click(panel.png_button)
    image = QImage(str(tmp_path / "plot.png"))
    assert not image.isNull() and (image.width(), image.height()) == (1200, 700)

    answers.append("")  # cancelled: nothing written, nothing said
    assert panel.export_png() is None and panel.message.text().startswith("Saved the plot")
    answers.append(str(tmp_path / "no" / "such" / "folder.csv"))
    assert panel.export_csv() is None
    assert panel.message.text().startswith("Could not write") and "c62828" in panel.message.styleSheet()


def test_a_stopped_run_resumes_from_the_panel_to_completion(qtbot, make_window, runs_dir, tmp_path):
    project = moons_project(tmp_path, epochs=3)
    run = train_run(project, runs_dir, stop_after=1)
    window = make_window(project.path)
    panel = open_panel(window, 1, qtbot)
    assert [cell(panel, 0, c) for c in ("status", "epochs")] == ["stopped", "1/3"]
    assert "stopped by the user after epoch 1" in panel.table.item(0, 1).toolTip()
    click_row(panel, 0)
    dash = window.training
    click(panel.resume_button)
    assert dash.active and dash.resumed_from == str(run)
    assert not window.docks["training"].visibleRegion().isEmpty()  # the Training dock is in front
    assert not panel.resume_button.isEnabled()  # one run at a time
    qtbot.waitUntil(lambda: not dash.active, timeout=30000)
    assert dash.state == "completed", dash.message.text()
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert (last["event"], last["state"]) == ("state", "completed")
    assert [r["epoch"] for r in read_history(run)] == [1, 2, 3]
    panel = open_panel(window, 1, qtbot)
    qtbot.waitUntil(lambda: cell(panel, 0, "status") == "completed", timeout=5000)
    assert cell(panel, 0, "epochs") == "3/3"
    click_row(panel, 0)
    assert not panel.resume_button.isEnabled()
    assert "already trained 3 epoch(s) of 3" in panel.resume_button.toolTip()
    more = dict(window.document.project.training, epochs=4)  # what the Training settings dock pushes
    window.document.undo_stack.push(SectionCommand(window.document.project, "training", more, ("epochs",), "epochs"))
    assert panel.resume_button.isEnabled()  # more epochs: a completed run can go on
    assert window.document.push(SetParams("fc1", {"out_features": 8})) is None  # an edit on the canvas
    assert panel.resume_button.toolTip() == "the open project's graph is not the one this run trained"


def test_a_run_trained_from_the_dashboard_is_listed_while_it_runs_and_when_it_ends(qtbot, make_window, runs_dir,
                                                                                    tmp_path):
    window = make_window(moons_project(tmp_path, epochs=1000).path)
    panel = open_panel(window, 0, qtbot)
    assert panel.message.text().startswith("No runs of this project yet")
    dash = window.training
    click(dash.train_button)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=30000)  # listed once it has a folder
    assert cell(panel, 0, "status") == "running" and panel.runs[0].path == Path(dash.run_dir)
    click_row(panel, 0)
    assert not panel.resume_button.isEnabled() and panel.resume_button.toolTip() == "a run is training now"
    with qtbot.waitSignal(dash.run_ended, timeout=10000):
        click(dash.stop_button)
    assert dash.state == "stopped", dash.message.text()
    assert cell(panel, 0, "status") == "stopped" and panel.selected_runs()[0].path == Path(dash.run_dir)
    assert panel.resume_button.isEnabled()  # the selection survives the refresh


def test_an_interrupted_run_and_another_project(qtbot, make_window, runs_dir, tmp_path):
    run = train_run(moons_project(tmp_path, epochs=3), runs_dir, stop_after=1)
    log = run / "metrics.jsonl"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-1]))  # the app died: no final state
    window = make_window(tmp_path / "moons.wbproj")
    panel = open_panel(window, 1, qtbot)
    assert cell(panel, 0, "status") == "interrupted"
    assert "crashed" in panel.table.item(0, 1).toolTip()
    click_row(panel, 0)
    assert panel.resume_button.isEnabled()

    (tmp_path / "other").mkdir()
    other = moons_project(tmp_path / "other")
    other.name = "spirals"
    window.set_project(other)  # opening another project lists its runs: none yet
    qtbot.waitUntil(lambda: panel.table.rowCount() == 0, timeout=5000)
    assert "No runs of this project yet" in panel.message.text() and not panel.csv_button.isEnabled()


def test_a_runs_evaluation_opens_in_the_evaluation_dock(qtbot, make_window, runs_dir, tmp_path):
    window = make_window(moons_project(tmp_path, epochs=1).path)
    panel = open_panel(window, 0, qtbot)
    dash = window.training
    with qtbot.waitSignal(dash.run_ended, timeout=30000):
        click(dash.train_button)
    assert dash.state == "completed", dash.message.text()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=5000)
    assert not panel.evaluation_button.isEnabled()  # nothing selected
    click_row(panel, 0)
    assert panel.evaluation_button.isEnabled()
    (Path(dash.run_dir) / "evaluation.json").unlink()
    panel.table.clearSelection()
    click_row(panel, 0)
    assert not panel.evaluation_button.isEnabled()  # a run without an evaluation
    with qtbot.waitSignal(dash.run_ended, timeout=30000):
        click(dash.train_button)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=5000)
    window.docks["runs"].raise_()
    click_row(panel, 0)
    click(panel.evaluation_button)
    view = window.evaluation
    assert window.docks["evaluation"].isVisible() and view.payload is not None
    assert view.payload["epoch"] == 1 and sum(map(sum, view.payload["matrix"])) == view.payload["samples"] == 100
