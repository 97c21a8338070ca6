"""The Training dock: a run started from the GUI trains off the UI thread, plots what
arrives, pauses, resumes and stops on request, ends cleanly when the window closes, and
reports a run that cannot start in the dock (no dialog)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from workbench.paths import DEFAULT_EXAMPLE
from workbench.ui.training.dashboard import format_eta
from workbench.ui.training.series import Series


def moons(epochs: int = 200, batch_size: int = 8, input_shape=(2,)) -> dict:
    """A tiny MLP on synthetic moons: 200 steps per epoch, each a fraction of a millisecond."""
    return {
        "format": "model-workbench-project",
        "version": 1,
        "name": "moons",
        "graph": {
            "nodes": [
                {"id": "x", "type": "Input", "params": {"shape": list(input_shape)}, "pos": [0, 0]},
                {"id": "fc1", "type": "Linear", "params": {"out_features": 16}, "pos": [0, 120]},
                {"id": "act", "type": "ReLU", "params": {}, "pos": [0, 240]},
                {"id": "fc2", "type": "Linear", "params": {"out_features": 2}, "pos": [0, 360]},
                {"id": "out", "type": "Output", "params": {}, "pos": [0, 480]},
            ],
            "edges": [
                {"source": "x", "target": "fc1"},
                {"source": "fc1", "target": "act"},
                {"source": "act", "target": "fc2"},
                {"source": "fc2", "target": "out"},
            ],
        },
        "data": {"source": "synthetic", "params": {"kind": "moons", "n": 2000}, "val_fraction": 0.2, "augment": []},
        "training": {"epochs": epochs, "batch_size": batch_size, "optimizer": {"type": "Adam", "lr": 0.01},
                     "loss": {"type": "CrossEntropyLoss"}, "device": "cpu", "seed": 0},
    }


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(path))
    return path


def dashboard_of(window):
    window.docks["training"].raise_()
    return window.training


def click(button) -> None:
    assert button.isEnabled(), button.objectName()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def steps_seen(dash) -> int:
    return len(dash.plots.step_loss) if dash.plots is not None else 0


def test_training_the_digits_example_plots_points_and_shows_the_final_accuracy(qtbot, make_window, runs_dir):
    window = make_window(DEFAULT_EXAMPLE)
    dash = dashboard_of(window)
    dash.overrides = {"epochs": 2, "device": "cpu"}
    click(dash.train_button)
    assert dash.state == "starting" and not dash.train_button.isEnabled()
    assert window.training.actions_["stop"].isEnabled()
    qtbot.waitUntil(lambda: not dash.active, timeout=30000)
    assert dash.state == "completed", dash.message.text()
    assert dash.table.rowCount() == 2
    assert len(dash.plots.step_loss) > 0 and len(dash.plots.train_loss) == 2
    assert dash.plots.step_curve.getData()[0] is not None and len(dash.plots.step_curve.getData()[0]) > 0
    accuracy = dash.last_epoch["val_accuracy"]
    assert 0.0 < accuracy <= 1.0
    assert dash.table.item(1, 3).text() == f"{accuracy:.4g}"
    assert f"{accuracy:.4g}" in dash.message.text()
    assert dash.table.horizontalHeaderItem(3).text() == "val accuracy"
    assert Path(dash.run_dir).parent.parent == runs_dir
    assert (Path(dash.run_dir) / "final.pt").is_file()
    assert dash.train_button.isEnabled() and not dash.stop_button.isEnabled()


def test_stop_mid_run_ends_stopped_and_keeps_the_checkpoint(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    click(dash.train_button)
    qtbot.waitUntil(lambda: steps_seen(dash) >= 3, timeout=20000)
    assert dash.state == "running"
    click(dash.stop_button)
    assert dash.state == "stopping"  # at once, before the run notices
    qtbot.waitUntil(lambda: not dash.active, timeout=10000)
    assert dash.state == "stopped"
    assert "stopped by the user" in dash.message.text()
    assert dash.checkpoint is not None and Path(dash.checkpoint).is_file()
    assert dash.table.rowCount() < 200


def test_pause_holds_the_run_and_resume_continues_it(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    click(dash.train_button)
    qtbot.waitUntil(lambda: steps_seen(dash) >= 2, timeout=20000)
    click(dash.pause_button)
    qtbot.waitUntil(lambda: dash.state == "paused", timeout=5000)
    assert dash.resume_button.isEnabled() and not dash.pause_button.isEnabled()
    QTest.qWait(100)
    held = steps_seen(dash)
    QTest.qWait(300)
    assert steps_seen(dash) == held  # nothing trains while paused
    click(dash.resume_button)
    assert dash.state == "running"
    qtbot.waitUntil(lambda: steps_seen(dash) > held + 2, timeout=10000)
    click(dash.stop_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=10000)
    assert dash.state == "stopped"


def test_closing_the_window_mid_run_stops_it_and_joins_the_thread(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    click(dash.train_button)
    run = dash.run
    qtbot.waitUntil(lambda: steps_seen(dash) >= 2, timeout=20000)
    assert run.thread.isRunning()
    window.close()
    assert run.thread.isFinished() and not run.thread.isRunning()
    assert dash.run is None and dash.state == "stopped"
    assert dash.checkpoint is not None and Path(dash.checkpoint).is_file()


def test_data_that_does_not_fit_the_graph_is_reported_in_the_dock(qtbot, make_window, dialogs):
    window = make_window(moons(input_shape=(3,)))  # moons has 2 features
    dash = dashboard_of(window)
    click(dash.train_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=20000)
    assert dash.state == "failed"
    text = dash.message.text()
    assert text and "2" in text and "3" in text, text
    assert not dialogs.errors and not dialogs.infos
    assert dash.train_button.isEnabled()


def test_series_grows_and_eta_reads_well():
    s = Series(2)
    for i in range(5):
        s.append(i, i * 2.0)
    s.extend([5, 6], [10.0, 12.0])
    assert list(s.x) == [0, 1, 2, 3, 4, 5, 6] and s.y[-1] == 12.0
    assert format_eta(None) == "—" and format_eta(75) == "1:15" and format_eta(3725) == "1:02:05"



def test_the_training_menu_drives_the_dock_and_follows_its_state(qtbot, make_window):
    window = make_window(moons())
    dash = window.training
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus.index("Training") == menus.index("Help") - 1
    actions = dash.actions_
    assert actions["train"].isEnabled() and not actions["pause"].isEnabled() and not actions["stop"].isEnabled()
    actions["train"].trigger()
    assert window.docks["training"].isVisible()
    qtbot.waitUntil(lambda: dash.state == "running" and steps_seen(dash) >= 1, timeout=20000)
    assert not actions["train"].isEnabled() and actions["pause"].isEnabled() and actions["stop"].isEnabled()
    actions["pause"].trigger()
    qtbot.waitUntil(lambda: dash.state == "paused", timeout=5000)
    actions["pause"].trigger()  # the same action resumes
    assert dash.state == "running"
    actions["stop"].trigger()
    qtbot.waitUntil(lambda: not dash.active, timeout=10000)
    assert dash.state == "stopped" and actions["train"].isEnabled()


def test_the_window_does_not_import_pyqtgraph_until_the_dashboard_is_shown():
    import subprocess
    import sys

    code = "import sys, workbench.ui.main_window; print('pyqtgraph' in sys.modules, 'numpy' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
