"""The bottom docks start tall enough to show a 10-class confusion matrix whole (issue 14:
the axis title read "rue" and rows were hidden)."""

from __future__ import annotations

import numpy as np
from PySide6.QtTest import QTest

from workbench.core.project import load_project
from workbench.paths import DEFAULT_EXAMPLE
from workbench.training.evaluation import classification_summary


def ten_class_payload() -> dict:
    rng = np.random.default_rng(0)
    true = rng.integers(0, 10, 360)
    pred = np.where(rng.random(360) < 0.9, true, rng.integers(0, 10, 360))
    rows = np.stack([true, pred, rng.random(360), rng.random(360)], 1).astype(float)
    payload = classification_summary(rows, [str(i) for i in range(10)])
    payload.update(epoch=1, samples=360, task="classification")
    return payload


def open_window(qtbot):
    from workbench.ui.main_window import MainWindow

    window = MainWindow(load_project(DEFAULT_EXAMPLE))
    qtbot.addWidget(window)
    window.resize(1400, 900)  # what a first start on a 1920x1080 screen gets, about
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_first_start_shows_the_whole_confusion_matrix_of_ten_classes(qtbot):
    window = open_window(qtbot)
    window.docks["evaluation"].raise_()
    window.evaluation.show_evaluation(ten_class_payload())
    QTest.qWait(50)
    matrix, area = window.evaluation.matrix, window.evaluation.matrix_area
    assert matrix.height() <= area.viewport().height(), (matrix.height(), area.viewport().height())
    assert not area.verticalScrollBar().isVisible()
    assert window.evaluation.per_class.verticalScrollBar().maximum() == 0  # all ten rows of the table too
    assert window.docks["evaluation"].height() <= 0.4 * window.height()  # and the canvas keeps the rest

