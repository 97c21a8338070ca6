"""The Evaluation dock: what the model gets right and wrong on the validation set.

Classification: a confusion-matrix heat map and a per-class table on the left, a gallery
of validation samples on the right (evaluation_gallery.py), worst mistakes first; clicking a matrix cell shows
that cell's samples, "All mistakes" goes back. Regression: a predicted-vs-true scatter
(pyqtgraph, imported on first use) with the y = x line, and the largest errors.

It follows the running training through the dashboard's `events_applied` (the last
"evaluation" event of a tick, see workbench/training/evaluation.py) and clears on
`run_started`; `show_run(path)` shows a past run's evaluation.json. The samples behind
the gallery come from the project's data with the run's seed, loaded once per run on a
background thread; until they arrive the gallery shows captions only.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget, QHeaderView, QLabel, QScrollArea, QSplitter, QStackedWidget, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from workbench.ui.deferred import DrawWhenSeen
from workbench.ui.settings_panels.data_check import bundle_key
from workbench.ui.training.confusion_matrix import ConfusionMatrix
from workbench.ui.training.evaluation_gallery import SampleGallery, cell_of

__all__ = ["EvaluationView", "install_evaluation"]


class _Relay(QObject):
    """Carries a background load's result to the UI thread (a queued signal)."""

    loaded = Signal(int, object, str)  # token, bundle or None, error message


class EvaluationView(QWidget):
    def __init__(self, project_source: Callable[[], object] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluation_view")
        self.project_source = project_source or (lambda: None)
        self.payload: dict | None = None
        self.deferred = DrawWhenSeen(self, self.show_evaluation)
        self.bundle = None  # the data whose validation split the indices point into
        self.samples_error = ""
        self.filter: tuple[int, int] | None = None  # the matrix cell the gallery shows, None: all mistakes
        self.overrides: Callable[[], dict | None] = lambda: None
        # a bundle already loaded for a bundle_key (the Data dock's), or None
        self.loaded_bundle: Callable[[str], object] = lambda key: None
        self._token = 0
        self._cache: dict = {}
        self._relay = _Relay(self)
        self._relay.loaded.connect(self._samples_loaded)
        self.scatter_plot = None  # pyqtgraph, made on the first regression
        self.scatter = None
        self._build()
        self.clear("No evaluation yet: it appears after the first validation of a training run.")

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.summary = QLabel()
        self.summary.setObjectName("evaluation_summary")
        self.summary.setWordWrap(True)
        self.matrix = ConfusionMatrix()
        self.matrix.cell_clicked.connect(self.show_cell)
        self.matrix_area = QScrollArea()
        self.matrix_area.setWidget(self.matrix)
        self.matrix_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.per_class = QTableWidget(0, 5)
        self.per_class.setObjectName("per_class_table")
        self.per_class.setHorizontalHeaderLabels(["class", "precision", "recall", "F1", "support"])
        self.per_class.verticalHeader().setVisible(False)
        self.per_class.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.per_class.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.per_class.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.per_class.setToolTip("Precision: of the samples predicted as the class, the share that is it. "
                                  "Recall: of the samples of the class, the share found. F1: their harmonic mean.")
        self.scatter_box = QWidget()
        QVBoxLayout(self.scatter_box).setContentsMargins(0, 0, 0, 0)
        self.left = QStackedWidget()
        self.left.addWidget(self.matrix_area)
        self.left.addWidget(self.scatter_box)

        self.gallery_panel = SampleGallery()
        self.gallery_panel.all_mistakes.connect(self.show_mistakes)
        self.gallery = self.gallery_panel.list

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for i, widget in enumerate((self.left, self.per_class, self.gallery_panel)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(i, 1 if widget is self.gallery_panel else 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.splitter, 1)

    def height_for_classes(self, n: int = 10) -> int:
        """The height that shows a confusion matrix of `n` classes whole, with the summary line
        above it: what the bottom docks start at, so ten classes are not clipped."""
        margins = self.layout().contentsMargins()
        frame = 2 * self.matrix_area.frameWidth()
        return (margins.top() + margins.bottom() + self.summary.fontMetrics().height() + self.layout().spacing()
                + self.matrix.height_for(n) + frame)

    # ---- following a run ----------------------------------------------------------------------
    def follow(self, dashboard) -> None:
        """Show the evaluations of the dashboard's runs as they arrive."""
        self.overrides = lambda: dashboard.overrides
        dashboard.run_started.connect(self._run_started)
        dashboard.events_applied.connect(self.apply_events)

    def _run_started(self) -> None:
        self.clear("Training: the evaluation appears after the first validation.")
        project = self.project_source()
        if project is not None:
            from workbench.training.config import ConfigError, parse_config

            try:
                seed = parse_config(project.training, self.overrides()).seed
            except ConfigError:
                return  # the run fails and says why
            self.load_samples(project, seed)

    def apply_events(self, events: list) -> None:
        """A tick's events: only the last evaluation among them is shown."""
        latest = next((ev for ev in reversed(events) if ev.get("event") == "evaluation"), None)
        if latest is None:
            return
        self.deferred.submit(latest)  # drawn when the dock can be seen (deferred.py)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.deferred.flush()

    def show_run(self, path) -> bool:
        """Show a past run's last evaluation (and load its samples); False when it has none."""
        from workbench.core.project import ProjectError, load_project
        from workbench.training.evaluation import read_evaluation

        payload = read_evaluation(path)
        if payload is None:
            self.clear(f"{Path(path).name} has no evaluation (it never validated, or predates evaluations).")
            return False
        self.clear()
        try:
            project = load_project(Path(path) / "project.wbproj")
        except (OSError, ProjectError):
            project = None
        self.show_evaluation(payload)
        if project is not None:
            current = self.project_source()
            base = current.path.parent if current is not None and current.path else Path(path)
            self.load_samples(project, payload.get("seed", 0), base)
        return True

    # ---- samples ------------------------------------------------------------------------------
    def load_samples(self, project, seed: int, base_dir: Path | None = None) -> None:
        """Load the data `project` trains on (split with `seed`) on a background thread."""
        from workbench.data.paths import data_base_dir
        from workbench.training.graph_io import SetupError, graph_io

        self._token += 1
        self.bundle, self._cache, self.samples_error = None, {}, ""
        try:
            inputs, _ = graph_io(project)  # on the UI thread: the graph belongs to it
        except SetupError as exc:
            self.samples_error = str(exc)
            return
        data = copy.deepcopy(project.data)
        base = base_dir or data_base_dir(project.path)
        token, relay = self._token, self._relay
        loaded = self.loaded_bundle(bundle_key(data, inputs, seed, base))
        if loaded is not None:  # the Data dock's check read this very data: no second load
            self._samples_loaded(token, loaded, "")
            return

        def load() -> None:
            from workbench.data import load_data

            try:
                result = load_data(data, inputs, seed, base), ""
            except Exception as exc:  # noqa: BLE001 - whatever the source raised, shown as a note
                result = None, str(exc)
            try:
                relay.loaded.emit(token, *result)
            except RuntimeError:  # the view was closed meanwhile
                pass

        threading.Thread(target=load, name="evaluation-samples", daemon=True).start()

    @property
    def samples_ready(self) -> bool:
        return self.bundle is not None

    def _samples_loaded(self, token: int, bundle, error: str) -> None:
        if token != self._token:
            return  # a newer run's samples are on their way
        self.bundle, self.samples_error = bundle, error
        if self.payload is not None:
            self._fill_gallery()

    def sample(self, index: int):
        """Validation sample `index` for display (cached); None when it cannot be shown."""
        from workbench.data.samples import describe_sample

        if self.bundle is None or self.bundle.val is None or not 0 <= index < len(self.bundle.val):
            return None
        if index not in self._cache:
            self._cache[index] = describe_sample(self.bundle, self.bundle.val, index)
        return self._cache[index]

    # ---- showing an evaluation ----------------------------------------------------------------
    def clear(self, note: str = "") -> None:
        self.payload, self.filter = None, None
        self.deferred.discard()
        self.summary.setText(note)
        self.matrix.set_matrix([], [])
        self.per_class.setRowCount(0)
        self.gallery_panel.clear()
        if self.scatter is not None:
            self.scatter.setData(x=[], y=[])

    def show_evaluation(self, payload: dict) -> None:
        self.payload = payload
        if payload.get("task") == "regression":
            self._show_regression(payload)
        else:
            self._show_classification(payload)
        self._fill_gallery()

    def _show_classification(self, payload: dict) -> None:
        self.left.setCurrentIndex(0)
        classes = payload["classes"]
        accuracy = payload.get("accuracy")
        acc = f" · accuracy {accuracy:.1%}" if accuracy is not None else ""
        if payload.get("matrix") is not None:
            hint = "blue: correct, red: mistaken; click a cell to see its samples"
        else:
            hint = f"{len(classes)} classes are too many for a matrix; the gallery shows the worst mistakes"
        self.summary.setText(f"Epoch {payload['epoch']}{acc} · {payload['samples']} validation samples, "
                             f"{payload.get('mistakes', 0)} mistaken · {hint}")
        keep = self.filter
        resized = len(classes) != len(self.matrix.classes)
        self.matrix.set_matrix(classes if payload.get("matrix") is not None else [], payload.get("matrix") or [])
        self._fit_matrix()
        self.per_class.show()
        if keep is not None and cell_of(payload, *keep) is not None:
            self.matrix.select(keep)
        else:
            self.filter = None
        rows = payload.get("per_class", [])
        self.per_class.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = (row["name"], _fraction(row["precision"]), _fraction(row["recall"]), _fraction(row["f1"]),
                      str(row["support"]))
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.per_class.setItem(r, c, item)
        if resized:  # the matrix and the table as wide as they need (their minimum), the gallery the rest
            self.per_class.setMinimumWidth(sum(self.per_class.columnWidth(c) for c in range(5)) + 24)
            self.splitter.setSizes([self.matrix_area.minimumWidth(), self.per_class.minimumWidth(), 100000])

    def _fit_matrix(self) -> None:
        """Cells sized to the dock's height; the matrix's column kept as wide as the matrix."""
        self.matrix.fit_height(self.matrix_area.viewport().height())
        bar = self.matrix_area.verticalScrollBar().sizeHint().width()
        self.matrix_area.setMinimumWidth(min(self.matrix.width() + bar + 4, max(120, self.width() // 2)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_matrix()

    def _show_regression(self, payload: dict) -> None:
        if self.left.currentIndex() != 1 or self.scatter_plot is None:  # the plot and the list share the width
            self.splitter.setSizes([1000, 0, 1000])  # halves, however wide the splitter is by then
        self.left.setCurrentIndex(1)
        self.per_class.hide()
        self.filter = None
        points = payload.get("points", {})
        true = np.asarray(points.get("true", []), dtype=float)
        pred = np.asarray(points.get("pred", []), dtype=float)
        mae = payload.get("mae")
        self.summary.setText(f"Epoch {payload['epoch']} · {payload['samples']} validation samples"
                             + (f" · MAE {mae:.4g}" if mae is not None else "")
                             + f" · {len(true)} values plotted; on the dashed line, predicted = true")
        import pyqtgraph as pg

        if self.scatter_plot is None:
            self.scatter_plot = pg.PlotWidget(background=None)
            self.scatter_plot.setObjectName("regression_scatter")
            item = self.scatter_plot.getPlotItem()
            item.setLabel("bottom", "true")
            item.setLabel("left", "predicted")
            self.identity = item.plot(pen=pg.mkPen((128, 128, 128), width=1, style=Qt.PenStyle.DashLine))
            self.scatter = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(59, 125, 216, 140))
            item.addItem(self.scatter)
            self.scatter_box.layout().addWidget(self.scatter_plot)
        self.scatter.setData(x=true, y=pred)
        if len(true):
            lo, hi = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
            self.identity.setData([lo, hi], [lo, hi])

    # ---- the gallery --------------------------------------------------------------------------
    def show_cell(self, true: int, pred: int) -> None:
        """The gallery shows the samples of one matrix cell."""
        self.filter = (true, pred)
        self.matrix.select(self.filter)
        self._fill_gallery()

    def show_mistakes(self) -> None:
        self.filter = None
        self.matrix.select(None)
        self._fill_gallery()

    def _fill_gallery(self) -> None:
        if self.payload is None:
            self.gallery_panel.clear()
            return
        note = "" if self.bundle is not None else (
            f" (samples unavailable: {self.samples_error})" if self.samples_error else " (loading samples…)")
        self.gallery_panel.fill(self.payload, self.filter, self.sample, note)


def _fraction(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def _evaluation_callback():
    from workbench.training.evaluation import Evaluation  # torch: imported when a run starts, not at start-up

    return Evaluation()


def install_evaluation(window, dashboard, tab_with: QDockWidget) -> EvaluationView:
    """The Evaluation dock, tabbed with `tab_with`, following `dashboard`'s runs."""
    view = EvaluationView(lambda: window.document.project if window.document is not None else None)
    view.follow(dashboard)
    view.loaded_bundle = lambda key: window.settings_panels.data.checker.bundle_for(key)  # installed after this
    dashboard.callback_factories.append(_evaluation_callback)
    dock = QDockWidget("Evaluation", window)
    dock.setObjectName("evaluation")
    dock.setWidget(view)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.tabifyDockWidget(tab_with, dock)
    window.docks["evaluation"] = dock
    if getattr(window, "panels_menu", None) is not None:
        window.panels_menu.addAction(dock.toggleViewAction())
    window.evaluation = view
    return view
