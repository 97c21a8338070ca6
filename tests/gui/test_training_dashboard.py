"""The Training dock: a run started from the GUI trains in a child process, plots what
arrives, pauses, resumes and stops on request, ends cleanly when the window closes, and
reports a run that cannot start in the dock (no dialog)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from workbench.paths import DEFAULT_EXAMPLE
from workbench.ui.training.dashboard import format_eta
from workbench.ui.training.series import Series, Smoothed, ema


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


def test_closing_the_window_mid_run_stops_it_and_ends_its_process(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    click(dash.train_button)
    run = dash.run
    qtbot.waitUntil(lambda: steps_seen(dash) >= 2, timeout=60000)
    assert run.running and run.process.poll() is None
    window.close()
    assert not run.running and run.process.returncode == 130  # stopped cooperatively, not killed
    assert dash.run is None and dash.state == "stopped"
    assert dash.checkpoint is not None and Path(dash.checkpoint).is_file()


def test_data_that_does_not_fit_the_graph_is_reported_in_the_dock(qtbot, make_window, dialogs):
    window = make_window(moons(input_shape=(3,)))  # moons has 2 features
    dash = dashboard_of(window)
    click(dash.train_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=60000)  # the child imports torch and the plugins first
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


def test_rates_status_line_and_epoch_columns_follow_a_gui_run(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    dash.overrides = {"epochs": 2}
    click(dash.train_button)
    qtbot.waitUntil(lambda: "resident" in dash.status_line.text(), timeout=20000)  # while it runs
    qtbot.waitUntil(lambda: not dash.active, timeout=30000)
    assert dash.state == "completed", dash.message.text()
    plots = dash.plots
    n = len(plots.step_loss)
    assert n > 10 and len(plots.lr) == n and len(plots.speed) == n
    assert np.allclose(plots.lr.y, 0.01)  # Adam(lr=0.01), no scheduler
    assert np.all(plots.speed.y > 0)
    assert len(plots.lr_curve.getOriginalDataset()[1]) == n and plots.lr_curve.isVisible()
    assert not plots.speed_curve.isVisible()
    plots.rate_choice.setCurrentIndex(plots.rate_choice.findText("Samples/s"))
    plots.flush()
    assert plots.speed_curve.isVisible() and not plots.lr_curve.isVisible()
    assert np.array_equal(plots.speed_curve.getOriginalDataset()[1], plots.speed.y)
    assert "Samples/s" in plots.rate_plot.getPlotItem().titleLabel.text
    status = dash.status_line.text()
    assert status.startswith("CPU · ") and re.search(r"\d+\.\d (MiB|GiB) resident · [\d,]+ samples/s", status), status
    headers = [dash.table.horizontalHeaderItem(c).text() for c in range(dash.table.columnCount())]
    assert headers[4:] == ["lr", "samples/s"]
    assert dash.table.item(0, 4).text() == "0.01"
    assert float(dash.table.item(1, 5).text().replace(",", "")) == pytest.approx(dash.last_epoch["samples_per_s"], abs=1)


@pytest.fixture
def plots(qtbot):
    from workbench.ui.training.plots import LivePlots

    widget = LivePlots()
    qtbot.addWidget(widget)
    widget.controls.show()
    widget.resize(1200, 260)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def noisy_steps(plots, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    loss = 2.0 * np.exp(-np.arange(n) / (n / 4)) + rng.uniform(0, 0.5, n)
    for step, value in enumerate(loss.tolist(), 1):
        plots.add_step(step, value, 0.01, 1000.0)
    plots.flush()
    return loss


def roughness(y: np.ndarray) -> float:
    return float(np.abs(np.diff(y)).mean())


def test_the_smoothing_slider_changes_the_smoothed_curve_and_leaves_the_raw_one(plots):
    loss = noisy_steps(plots, 300)
    raw = plots.step_curve.getOriginalDataset()[1].copy()
    smooth = plots.smooth_curve.getOriginalDataset()[1].copy()
    assert np.array_equal(raw, loss)
    assert np.allclose(smooth, ema(loss, 0.6)) and roughness(smooth) < roughness(raw)
    plots.smoothing.setFocus()
    QTest.keyClick(plots.smoothing, Qt.Key.Key_End)  # all the way: 0.99
    assert plots.smoothing_label.text() == "0.99"
    plots.refresh(force=True)  # one tick redraws the step plot
    heavier = plots.smooth_curve.getOriginalDataset()[1]
    assert np.allclose(heavier, ema(loss, 0.99)) and roughness(heavier) < roughness(smooth)
    assert np.array_equal(plots.step_curve.getOriginalDataset()[1], raw)
    QTest.keyClick(plots.smoothing, Qt.Key.Key_Home)  # none: the smoothed curve is the raw one
    plots.refresh(force=True)
    assert np.allclose(plots.smooth_curve.getOriginalDataset()[1], raw)


def test_log_y_puts_both_loss_plots_on_a_log_scale(plots):
    noisy_steps(plots, 50)
    click(plots.log_y)
    assert plots.log_y.isChecked()
    assert plots.step_plot.getPlotItem().getAxis("left").logMode
    assert plots.epoch_plot.getPlotItem().getAxis("left").logMode
    assert not plots.metric_plot.getPlotItem().getAxis("left").logMode
    axis = plots.step_plot.getPlotItem().getAxis("left")  # 0.15 .. 3: labels at 0.2, 0.5, 1, 2, not 0.2 .. 0.9
    labelled = [v for _spacing, values in axis.logTickValues(np.log10(0.15), np.log10(3), 100, []) for v in values]
    assert np.allclose(sorted(labelled), np.log10([0.2, 0.5, 1, 2]))
    click(plots.log_y)
    assert not plots.step_plot.getPlotItem().getAxis("left").logMode


def test_a_million_steps_draw_in_one_refresh(plots):
    n = 10**6
    steps = np.arange(1, n + 1, dtype=np.float64)
    loss = 1.0 + np.sin(steps / 5000.0) + np.random.default_rng(1).uniform(0, 0.3, n)
    plots.step_loss.extend(steps, loss)
    plots.lr.extend(steps, np.full(n, 0.01))
    plots.speed.extend(steps, np.full(n, 900.0))
    start = time.perf_counter()
    for _ in range(2):  # the raw curve, then the EMA of a million points (computed at the first)
        plots.refresh(force=True)
    plots.step_plot.grab()  # and the step plot's repaint
    spent = time.perf_counter() - start
    assert spent < 1.0, f"{spent:.3f} s"
    assert len(plots.smooth_curve.getOriginalDataset()[0]) == n
    assert len(plots.smoothed) == n and plots.smoothed.y[-1] == pytest.approx(ema(loss[-5000:], 0.6, plots.smoothed.y[-5001])[-1])
    plots.refresh(force=True)  # the next plot with news: the learning rate
    assert len(plots.lr_curve.getOriginalDataset()[0]) == n
    plots.add_step(n + 1, 1.0, 0.01, 900.0)  # the next ticks smooth only the new point
    start = time.perf_counter()
    plots.refresh(force=True)
    assert time.perf_counter() - start < 0.5 and len(plots.smoothed) == n + 1


def test_ema_matches_the_recurrence_and_smoothing_grows_with_its_series():
    rng = np.random.default_rng(2)
    for n in (1, 63, 64, 65, 1000, 5000):
        x = rng.normal(size=n)
        for weight in (0.0, 0.3, 0.9, 0.999):
            expected, carry = [], x[0]
            for value in x:
                carry = weight * carry + (1 - weight) * value
                expected.append(carry)
            assert np.allclose(ema(x, weight), expected, rtol=0, atol=1e-9), (n, weight)
    series = Series(8)
    smoothed = Smoothed(series, 0.5)
    values = [1.0, 3.0, float("nan"), 5.0]
    for i, v in enumerate(values):
        series.append(i, v)
        smoothed.update()
    assert smoothed.y[0] == 1.0 and smoothed.y[1] == 2.0 and np.isnan(smoothed.y[2])
    assert smoothed.y[3] == 3.5  # the NaN is skipped: 0.5 * 2 + 0.5 * 5
    whole = Smoothed(series, 0.5)
    whole.update()  # all at once: the same curve
    assert np.array_equal(whole.y, smoothed.y, equal_nan=True)
    series.clear()
    smoothed.update()
    assert len(smoothed) == 0


def test_hovering_a_plot_reads_out_the_nearest_point(plots):
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QToolTip

    loss = noisy_steps(plots, 300)
    plots.add_epoch(1, 1.5, 1.25, 0.5)
    plots.flush()
    assert plots.readout(plots.step_plot, 150.3) == (f"step 150\nloss {loss[149]:.4g}\n"
                                                     f"smoothed {plots.smoothed.y[149]:.4g}")
    assert plots.readout(plots.epoch_plot, 0.7) == "epoch 1\ntrain 1.5\nval 1.25"
    assert plots.readout(plots.rate_plot, 10) == "step 10\nlr 0.01"  # samples/s is hidden
    QTest.qWait(20)  # the view ranges follow the data when the event loop runs
    box = plots.step_plot.getPlotItem().getViewBox()
    middle = sum(box.viewRange()[1]) / 2
    plots.step_plot.scene().sigMouseMoved.emit(box.mapViewToScene(QPointF(42, middle)))
    assert QToolTip.text().startswith("step 42\nloss ")
    plots.step_plot.scene().sigMouseMoved.emit(box.mapViewToScene(QPointF(42, middle)) + QPointF(0, 5000))
    deadline = time.monotonic() + 2  # off the plot: the readout goes (Qt hides a tooltip after a moment)
    while QToolTip.isVisible() and time.monotonic() < deadline:
        QTest.qWait(20)
    assert not QToolTip.isVisible()


def test_plot_redraws_are_rate_limited_between_ticks_but_epoch_curves_never_lag(plots):
    from workbench.ui.training.plots import REDRAWS_PER_S

    plots.add_step(1, 1.0, 0.01, 900.0)
    plots.refresh()
    assert len(plots.step_curve.getOriginalDataset()[0]) == 1
    plots.add_step(2, 0.9, 0.01, 900.0)
    plots.add_epoch(1, 1.0, 1.1, 0.5)
    plots.refresh()  # the next tick, within 1/REDRAWS_PER_S: the step curves wait ...
    assert len(plots.step_curve.getOriginalDataset()[0]) == 1
    # ... the epoch curves are drawn at once, so they match the epoch table at every tick
    assert len(plots.train_curve.getOriginalDataset()[0]) == 1
    assert len(plots.metric_curve.getOriginalDataset()[0]) == 1
    for _ in plots._groups:  # the later ticks draw the step groups with news in turn
        QTest.qWait(int(1000 / REDRAWS_PER_S) + 20)
        plots.refresh()
    assert len(plots.step_curve.getOriginalDataset()[0]) == 2


@pytest.mark.parametrize("log_y", [False, True])
def test_one_epoch_is_framed_around_its_point_not_across_hundreds(plots, log_y):
    plots.set_log_y(log_y)
    plots.add_epoch(1, 0.8, 0.6, 0.9)
    plots.refresh()
    QTest.qWait(20)
    (x0, x1), (y0, y1) = plots.epoch_plot.getPlotItem().getViewBox().viewRange()
    assert x0 < 1 < x1 and x1 - x0 <= 1.5
    low, high = (np.log10(0.6), np.log10(0.8)) if log_y else (0.6, 0.8)
    assert y0 < low and high < y1 and y1 - y0 < 1.0
    (x0, x1), (y0, y1) = plots.metric_plot.getPlotItem().getViewBox().viewRange()
    assert x0 < 1 < x1 and x1 - x0 <= 1.5 and y0 < 0.9 < y1 and y1 - y0 < 1.0
    plots.add_epoch(2, 0.5, 0.55, 0.95)  # two epochs: autorange again
    plots.refresh()
    QTest.qWait(20)
    (x0, x1), _y = plots.epoch_plot.getPlotItem().getViewBox().viewRange()
    assert x0 <= 1 and x1 >= 2 and x1 - x0 < 3
