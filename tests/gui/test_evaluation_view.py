"""The Evaluation dock: after a run started from the GUI, the confusion matrix counts every
validation sample, clicking a cell shows exactly that cell's samples with their captions,
"All mistakes" goes back; a past run shows again from its folder; a regression run gets a
predicted-vs-true scatter."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.gui.test_training_dashboard import moons
from workbench.paths import DEFAULT_EXAMPLE
from workbench.training.evaluation import CELL_LIMIT
from workbench.ui.training.evaluation_gallery import INDEX_ROLE


def train(qtbot, window, **overrides):
    dash = window.training
    dash.overrides = {"device": "cpu", **overrides}
    window.docks["evaluation"].raise_()
    assert dash.train()
    qtbot.waitUntil(lambda: not dash.active, timeout=60000)
    assert dash.state == "completed", dash.message.text()
    view = window.evaluation
    qtbot.waitUntil(lambda: view.samples_ready, timeout=20000)
    return view


def captions(view) -> list[str]:
    return [view.gallery.item(i).text() for i in range(view.gallery.count())]


def click_cell(view, true: int, pred: int) -> None:
    QTest.mouseClick(view.matrix, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.matrix.cell_rect(true, pred).center())


def test_digits_matrix_counts_every_sample_and_a_clicked_cell_shows_its_samples(qtbot, make_window, runs_dir):
    window = make_window(DEFAULT_EXAMPLE)
    view = train(qtbot, window, epochs=2)
    payload = view.payload
    val = view.bundle.val
    assert payload["epoch"] == 2 and len(val) == 359
    assert view.matrix.matrix.sum() == 359 and view.matrix.classes == [str(d) for d in range(10)]
    assert view.per_class.rowCount() == 10 and view.per_class.item(3, 0).text() == "3"
    assert view.per_class.item(3, 4).text() == str(int(view.matrix.matrix[3].sum()))

    counts = view.matrix.matrix.copy()
    np.fill_diagonal(counts, -1)
    t, p = np.unravel_index(np.argmax(counts), counts.shape)  # the most frequent confusion
    assert counts[t, p] > 0, "two epochs leave some mistakes"
    click_cell(view, t, p)
    assert view.filter == (t, p) and view.gallery_panel.all_button.isEnabled()
    shown = captions(view)
    assert len(shown) == min(int(counts[t, p]), CELL_LIMIT)
    for i, text in enumerate(shown):
        index = view.gallery.item(i).data(INDEX_ROLE)
        assert int(val[index][1]) == t  # the sample really is of the row's class
        assert text.startswith(f"pred {p} (") and text.endswith(f"%) · true {t}")
        assert not view.gallery.item(i).icon().isNull()  # its thumbnail
    assert f"True {t}, predicted {p}" in view.gallery_panel.title.text()

    click_cell(view, 0, 0)  # correct answers, least confident first
    assert captions(view) and all(c.startswith("pred 0 (") and c.endswith("· true 0") for c in captions(view))
    sure = [int(c.split("(")[1].split("%")[0]) for c in captions(view)]
    assert sure == sorted(sure)

    QTest.mouseClick(view.gallery_panel.all_button, Qt.MouseButton.LeftButton)
    assert view.filter is None and view.gallery.count() == min(payload["mistakes"], 64)
    for text in captions(view):
        pred, true = text.split(" (")[0].removeprefix("pred "), text.split("· true ")[1]
        assert pred != true

    run_dir = window.training.run_dir
    view.clear()
    assert view.show_run(run_dir) and view.matrix.matrix.sum() == 359
    assert view.payload["worst"] == payload["worst"]
    assert not view.show_run(runs_dir) and view.payload is None and "has no evaluation" in view.summary.text()

    older = {**payload, "epoch": 1, "event": "evaluation"}
    view.apply_events([older, {"event": "step"}, {**payload, "event": "evaluation"}, {"event": "epoch"}])
    assert view.payload["epoch"] == 2  # the latest of a tick's evaluations is the one shown


def test_a_new_run_clears_the_last_evaluation(qtbot, make_window, runs_dir):
    window = make_window(moons(epochs=1))
    view = train(qtbot, window)
    assert view.payload is not None and view.matrix.matrix.sum() == 400
    dash = window.training
    dash.overrides = {"epochs": 1, "device": "cpu"}
    assert dash.train()
    assert view.payload is None and view.gallery.count() == 0 and view.matrix.matrix.size == 0
    qtbot.waitUntil(lambda: not dash.active, timeout=60000)
    assert view.payload is not None


def test_regression_run_shows_predicted_against_true(qtbot, make_window, runs_dir):
    project = moons(epochs=1, input_shape=(1,))
    project["graph"]["nodes"][3]["params"]["out_features"] = 1
    project["data"]["params"] = {"kind": "sine", "n": 2000}
    project["training"]["loss"] = {"type": "MSELoss"}
    window = make_window(project)
    view = train(qtbot, window)
    assert view.payload["task"] == "regression" and view.left.currentWidget() is view.scatter_box
    x, y = view.scatter.getData()
    assert len(x) == len(y) == 400 == view.payload["samples"]
    assert list(x) == view.payload["points"]["true"]
    assert not view.per_class.isVisible()
    shown = captions(view)
    assert len(shown) == 64 and all(c.startswith("pred ") and " · true " in c for c in shown)
    first = view.payload["worst"][0]
    assert shown[0].startswith(f"pred {first['pred'][0]:.3g} · true {first['true'][0]:.3g}")
    index = view.gallery.item(0).data(INDEX_ROLE)
    assert shown[0].endswith(f"{float(view.bundle.val[index][0][0][0]):.3g}")  # the sample's x


def test_the_gallery_uses_the_data_the_data_dock_already_loaded(qtbot, digits_window):
    window = digits_window
    checker = window.settings_panels.data.checker
    qtbot.waitUntil(lambda: checker.loaded is not None and not checker.busy, timeout=20000)
    window.training.overrides = {"epochs": 1}
    with qtbot.waitSignal(window.training.run_ended, timeout=60000):
        window.training.train()
    assert window.evaluation.bundle is checker.loaded.bundle  # not read a second time
