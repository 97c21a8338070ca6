"""The Runs dock: every run of the open project, newest first, to compare and continue.

Each row is a run folder under `<runs dir>/<project>/` (date, status, epochs, best
metric, time trained). Selecting several overlays one metric of each, one colour per
run; two selected can be diffed (settings and graph, from the project each run saved);
one stopped or interrupted run can be resumed from its checkpoint in the Training dock.
The plot exports to PNG, the epochs of the selected runs (or all) to CSV.

The list is read again when a project opens, when a run starts or ends, and on Refresh;
while the dock is hidden it waits until it is shown. pyqtgraph and torch are imported
only then, so start-up pays for neither.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView,
    QLabel, QPlainTextEdit, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

__all__ = ["RunsPanel", "install_runs_panel"]

COLUMNS = ("date", "status", "epochs", "best", "time")
LABELS = {"val_loss": "val loss", "train_loss": "train loss", "val_accuracy": "val accuracy", "val_mae": "val MAE",
          "val_rmse": "val RMSE", "lr": "learning rate", "samples_per_s": "samples/s", "seconds": "seconds per epoch"}
FIRST = ("val_loss", "train_loss", "val_accuracy", "val_mae")
NOT_PLOTTED = frozenset({"epoch", "epochs", "step", "eta_s", "improved", "monitor", "val_samples"})
INTERRUPTED_TIP = "No end was recorded: the app closed or crashed mid-run (or another process is still training it)"


def metric_label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


class RunsPanel(QWidget):
    def __init__(self, window, dashboard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runs_panel")
        self.main_window, self.dashboard = window, dashboard
        self.runs: list = []  # RunInfo, newest first (the table's rows)
        self.plot = None  # the overlay (pyqtgraph), built when first needed
        self.curves: list = []
        self.diff_dialog: QDialog | None = None
        self._files: dict[Path, tuple[int, object]] = {}  # a run's file -> (its mtime, what was read from it)
        self._stale = True
        self._build()
        self.update_buttons()

    def _build(self) -> None:
        self.refresh_button = self._button("Refresh", "refresh", self.refresh, "Read the run folders again")
        self.resume_button = self._button("Resume", "resume", self.resume_selected,
                                          "Continue the selected run from its last checkpoint")
        self.diff_button = self._button("Diff…", "diff", self.diff_selected,
                                        "What changed between the two selected runs: settings and graph")
        self.evaluation_button = self._button("Evaluation", "evaluation", self.show_evaluation,
                                              "Show the selected run's last evaluation in the Evaluation dock")
        self.png_button = self._button("Export PNG…", "export_png", self.export_png, "Save the plot as an image")
        self.csv_button = self._button("Export CSV…", "export_csv", self.export_csv,
                                       "Save every epoch of the selected runs (or of all) as a CSV table")
        self.metric_choice = QComboBox()
        self.metric_choice.setObjectName("metric_choice")
        self.metric_choice.setToolTip("The metric the plot compares")
        self.metric_choice.currentIndexChanged.connect(lambda _i: self._draw())
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runs_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("best"), QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.message = QLabel("")
        self.message.setObjectName("runs_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot_area = QWidget()
        self.plot_layout = QVBoxLayout(self.plot_area)
        self.plot_layout.setContentsMargins(0, 0, 0, 0)

        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.resume_button, self.diff_button, self.evaluation_button,
                       self.png_button, self.csv_button):
            buttons.addWidget(button)
        buttons.addSpacing(12)
        buttons.addWidget(QLabel("Plot"))
        buttons.addWidget(self.metric_choice)
        buttons.addStretch(1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.plot_area)
        self.splitter.setSizes([1000, 1400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)

    def _button(self, text: str, name: str, slot, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(f"{name}_button")
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # ---- the list -----------------------------------------------------------------------------
    def folder(self) -> Path | None:
        """Where the open project's runs are (training.run_home: beside its file, or the user data folder)."""
        document = self.main_window.document
        if document is None:
            return None
        from workbench.training.runs import project_runs_dir

        return project_runs_dir(self.dashboard.runs_dir, document.project)

    def document_opened(self) -> None:
        document = self.main_window.document
        if document is not None:  # an edit (more epochs, another graph) changes what Resume can do
            document.undo_stack.indexChanged.connect(lambda _index: self.update_buttons())
        self.mark_stale()

    def mark_stale(self) -> None:
        """Read the runs again now if the dock is shown, else when it next is."""
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        self._stale = False
        folder = self.folder()
        chosen = {info.path for info in self.selected_runs()}
        self.runs = []
        if folder is not None and folder.is_dir():
            from workbench.training.runs import list_runs

            self.runs = [info for info in reversed(list_runs(folder)) if info.path.parent == folder]
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.setRowCount(len(self.runs))
        for row, info in enumerate(self.runs):
            for col, (text, tip) in enumerate(self._cells(info)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if col in (2, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.select(*(row for row, info in enumerate(self.runs) if info.path in chosen))
        self.table.blockSignals(False)
        if folder is None:
            self._say("Open a project to see its runs.")
        elif not self.runs:
            self._say(f"No runs of this project yet (they are saved in {folder}).")
        else:
            self._say("")
        self._selection_changed()

    def _cells(self, info) -> list[tuple[str, str]]:
        from workbench.training.console import format_duration

        date = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.started)) if info.started else info.path.name
        status, tip = info.state, info.message
        if info.state == "running" and not self._is_live(info):
            status, tip = "interrupted", INTERRUPTED_TIP
        epochs = f"{info.epochs_done}/{info.epochs}" if info.epochs else str(info.epochs_done)
        best, best_tip = "—", ""
        if info.best and isinstance(info.best.get("value"), (int, float)) and isinstance(info.best.get("metric"), str):
            best = f"{metric_label(info.best['metric'])} {info.best['value']:.4g} (epoch {info.best['epoch']})"
            best_tip = f"the best epoch by {info.best['metric']}"
        return [(date, str(info.path)), (status, tip), (epochs, ""), (best, best_tip),
                (format_duration(info.duration, unknown="—"), "time spent training (resumed parts added up)")]

    def _is_live(self, info) -> bool:
        return self.dashboard.active and self.dashboard.run_dir is not None \
            and Path(self.dashboard.run_dir) == info.path

    def selected_runs(self) -> list:
        """The selected runs in the table's order (newest first)."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[row] for row in rows if row < len(self.runs)]

    def select(self, *rows: int) -> None:
        """Select exactly these rows (what a Ctrl+click on each does)."""
        self.table.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            self.table.selectionModel().select(self.table.model().index(row, 0), flags)

    def history(self, info) -> list[dict]:
        """The run's epoch rows, read again only when its metrics.jsonl changed."""
        from workbench.training.runs import read_history

        return self._read_when_changed(info.path / "metrics.jsonl", lambda: read_history(info.path))

    def run_project(self, info):
        """The project the run trained (resume checks it after every edit of the open one)."""
        from workbench.training.runs import load_run_project

        return self._read_when_changed(info.path / "project.wbproj", lambda: load_run_project(info.path))

    def _read_when_changed(self, file: Path, read):
        stamp = file.stat().st_mtime_ns if file.exists() else 0
        cached = self._files.get(file)
        if cached is None or cached[0] != stamp:
            cached = self._files[file] = (stamp, read())
        return cached[1]

    # ---- selection: buttons, metric choice, overlay -----------------------------------------------
    def _selection_changed(self) -> None:
        self._fill_metric_choice()
        self._draw()
        self.update_buttons()
        hint = "Select runs to compare their curves (Ctrl+click or Shift+click for several)."
        if self.runs and not self.selected_runs() and not self.message.text():
            self._say(hint)
        elif self.selected_runs() and self.message.text() == hint:
            self._say("")

    def _fill_metric_choice(self) -> None:
        keys = {key for info in self.selected_runs() for row in self.history(info) for key, value in row.items()
                if key not in NOT_PLOTTED and isinstance(value, (int, float)) and not isinstance(value, bool)}
        ordered = [k for k in FIRST if k in keys] + sorted(keys - set(FIRST))
        current = self.metric_choice.currentData()
        self.metric_choice.blockSignals(True)
        self.metric_choice.clear()
        for key in ordered:
            self.metric_choice.addItem(metric_label(key), key)
        self.metric_choice.setCurrentIndex(max(0, self.metric_choice.findData(current)))
        self.metric_choice.blockSignals(False)

    def ensure_plot(self):
        if self.plot is None:
            from workbench.ui.training.runs_overlay import plot_widget

            self.plot = plot_widget()
            self.plot.setObjectName("runs_plot")
            self.plot_layout.addWidget(self.plot)
        return self.plot

    def _draw(self) -> None:
        key = self.metric_choice.currentData()
        runs = self.selected_runs()
        if self.plot is None and not runs:
            return
        from workbench.ui.training.runs_overlay import PALETTE, draw_runs

        for row, info in enumerate(self.runs):  # a swatch beside each plotted run, in its curve's colour
            self.table.item(row, 0).setIcon(_swatch(PALETTE[runs.index(info) % len(PALETTE)])
                                            if info in runs and key else QIcon())
        self.curves = draw_runs(self.ensure_plot().getPlotItem(), self._title(key), key, self._named(runs))

    def _title(self, key: str | None) -> str:
        return f"{metric_label(key)} per epoch" if key else ""

    def _named(self, runs: list) -> list[tuple[str, list[dict]]]:
        return [(info.path.name, self.history(info)) for info in runs]

    def update_buttons(self) -> None:
        runs = self.selected_runs()
        refusal = self.resume_refusal(runs[0]) if len(runs) == 1 else "select one run to resume it"
        self.resume_button.setEnabled(not refusal)
        self.resume_button.setToolTip(refusal or "Continue the selected run from its last checkpoint")
        self.diff_button.setEnabled(len(runs) == 2)
        self.evaluation_button.setEnabled(len(runs) == 1 and (runs[0].path / "evaluation.json").is_file())
        self.png_button.setEnabled(bool(self.curves))
        self.csv_button.setEnabled(bool(self.runs))

    def resume_refusal(self, info) -> str:
        """Why the run cannot continue now, or "". It continues with the open project (its
        settings, and its epochs or the dashboard's override), so that must have the run's graph."""
        from workbench.core.diff import diff_projects
        from workbench.core.project import ProjectError
        from workbench.training.runs import resume_refusal

        document = self.main_window.document
        if self.dashboard.active:
            return "a run is training now"
        if document is None:
            return "no project is open"
        try:
            diff = diff_projects(self.run_project(info), document.project)
        except ProjectError as exc:
            return f"cannot read the project this run trained: {exc}"
        if not diff.same_graph:
            return "the open project's graph is not the one this run trained"
        epochs = (self.dashboard.overrides or {}).get("epochs") or document.project.training.get("epochs")
        return resume_refusal(info, epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None)

    # ---- actions -------------------------------------------------------------------------------
    def resume_selected(self) -> bool:
        """Continue the selected run in the Training dock (which shows a refusal from the Trainer)."""
        runs = self.selected_runs()
        if len(runs) != 1 or self.resume_refusal(runs[0]):
            return False
        dock = self.main_window.docks.get("training")
        if dock is not None:
            dock.show()
            dock.raise_()
        started = self.dashboard.train(resume=str(runs[0].path))
        self.update_buttons()
        return started

    def show_evaluation(self) -> None:
        """The selected run's confusion matrix and mistakes, in the Evaluation dock."""
        runs = self.selected_runs()
        view = getattr(self.main_window, "evaluation", None)
        if len(runs) != 1 or view is None:
            return
        self.main_window.docks["evaluation"].show()
        self.main_window.docks["evaluation"].raise_()
        view.show_run(runs[0].path)

    def diff_selected(self) -> QDialog | None:
        """A window with what changed from the older of the two selected runs to the newer."""
        runs = self.selected_runs()
        if len(runs) != 2:
            return None
        from workbench.core.diff import diff_projects, format_diff
        from workbench.core.project import ProjectError

        old, new = sorted(runs, key=lambda r: (r.started or 0.0, str(r.path)))
        try:
            lines = format_diff(diff_projects(self.run_project(old), self.run_project(new)))
        except ProjectError as exc:
            lines = [f"cannot compare these runs: {exc}"]
        if self.diff_dialog is not None:
            self.diff_dialog.close()
            self.diff_dialog.deleteLater()
        self.diff_dialog = DiffDialog(f"Changes from run {old.path.name} to run {new.path.name}",
                                      "\n".join(lines), self.main_window)
        self.diff_dialog.show()
        return self.diff_dialog

    def ask_save_path(self, title: str, suggested: str, file_filter: str) -> str:
        """The file to write, or "" when the user cancels (tests replace this)."""
        start = str((self.folder() or Path.cwd()) / suggested)
        path, _ = QFileDialog.getSaveFileName(self.main_window, title, start, file_filter)
        return path

    def export_png(self) -> Path | None:
        if not self.curves:
            return None
        key = self.metric_choice.currentData()
        path = self.ask_save_path("Export plot", f"runs-{key}.png", "PNG image (*.png)")
        if not path:
            return None
        target = Path(path) if Path(path).suffix.lower() == ".png" else Path(path + ".png")
        from workbench.ui.training.runs_overlay import export_png

        export_png(target, self._title(key), key, self._named(self.selected_runs()))
        if not target.is_file():
            self._say(f"Could not write {target}.", error=True)
            return None
        self._say(f"Saved the plot to {target}.")
        return target

    def export_csv(self) -> Path | None:
        runs = self.selected_runs() or self.runs
        if not runs:
            return None
        path = self.ask_save_path("Export metrics", "runs-metrics.csv", "CSV table (*.csv)")
        if not path:
            return None
        from workbench.training.runs import write_metrics_csv

        target = Path(path) if Path(path).suffix.lower() == ".csv" else Path(path + ".csv")
        try:
            rows = write_metrics_csv(runs, target)
        except OSError as exc:
            self._say(f"Could not write {target}: {exc.strerror or exc}", error=True)
            return None
        self._say(f"Saved {rows} epoch row(s) of {len(runs)} run(s) to {target}.")
        return target

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message.setStyleSheet("color: #c62828;" if error else "")


class DiffDialog(QDialog):
    """Read-only, non-modal: the diff stays open beside the runs while the user looks."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runs_diff")
        self.setWindowTitle(title)
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(font)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(640, 420)


def _swatch(colour: str) -> QIcon:
    """A dot of the curve's colour; its white ring keeps it visible on a selected row."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("white"), 1.5))
    painter.setBrush(QColor(colour))
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)


def install_runs_panel(window, dashboard) -> RunsPanel:
    """The Runs dock, tabbed beside the Training dock, with its toggle in the Panels menu."""
    panel = RunsPanel(window, dashboard)
    dock = QDockWidget("Runs", window)
    dock.setObjectName("runs")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    training = window.docks.get("training")
    if training is not None:
        window.tabifyDockWidget(training, dock)
    window.docks["runs"] = dock
    if getattr(window, "panels_menu", None) is not None:
        window.panels_menu.addAction(dock.toggleViewAction())
    hook = getattr(window, "document_changed", None)
    if hook is not None:
        hook.connect(panel.document_opened)
    dashboard.run_ended.connect(lambda _state: panel.mark_stale())

    def run_folder_made(events: list) -> None:  # a new run shows as running as soon as it has a folder
        if any(ev["event"] == "fit_start" for ev in events):
            panel.mark_stale()

    dashboard.events_applied.connect(run_folder_made)
    dashboard.state_changed.connect(lambda _state: panel.update_buttons())
    return panel
