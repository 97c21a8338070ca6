"""A model too large for this machine, trained from the GUI: the Training dock says which
node and how much memory, the run never starts, no dialog opens."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.hostile.test_size_budget import HUGE, project


def test_the_dock_names_the_node_and_the_figure(qtbot, make_window, dialogs, runs_dir):
    layers, shape, dtype, node, size = HUGE["linear"]
    window = make_window(project(layers, shape, dtype))
    window.docks["training"].raise_()
    dash = window.training
    QTest.mouseClick(dash.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dash.active, timeout=30000)
    text = dash.message.text()
    assert dash.state == "failed" and f"{node}: the model does not fit" in text and "TB" in text, text
    assert not dialogs.errors and dash.train_button.isEnabled()
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # no run folder was made
