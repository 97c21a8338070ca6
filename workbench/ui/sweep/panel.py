"""The Sweep dock: the search form (search_form.py), Start/Stop, and the study as it fills
(trial table, best so far, importances, parallel coordinates, slices).

Start runs the sweep in a child process (process.py); a timer reads the study's storage
once a second while it runs. Optuna loads on first use, never at start-up.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from workbench.search.space import read_search, search_section
from workbench.ui.sweep.edit import apply_values
from workbench.ui.sweep.search_form import SearchForm, format_value

__all__ = ["SweepPanel"]

POLL_MS = 1000
FIXED_COLUMNS = ("trial", "state", "value", "time")


class SweepPanel(QWidget):
    def __init__(self, window=None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sweep_panel")
        self.window_, self.document, self.process = window, None, None
        self.rows, self._storage = [], None
        self.plots = None
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    # ---- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self.form = SearchForm()
        self.form.changed.connect(self._update_buttons)
        self.form.searched.connect(lambda _key: self._show_dock())
        self.form.message.connect(lambda text: self._say(text, error=True))
        self.dims, self.sampler, self.pruner = self.form.dims, self.form.sampler, self.form.pruner
        self.start_button = QPushButton("Start", objectName="start", clicked=lambda: self.start())
        self.stop_button = QPushButton("Stop", objectName="stop", clicked=lambda: self.stop())
        self.apply_button = QPushButton("Apply best", objectName="apply_best", clicked=lambda: self.apply_best())
        self.apply_button.setToolTip("Write the best trial's values into the project (one undo step)")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.apply_button):
            buttons.addWidget(b)
        self.status = QLabel(objectName="sweep_status", wordWrap=True)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.form, 1)
        column.addLayout(buttons)
        column.addWidget(self.status)
        self.table = QTableWidget(0, len(FIXED_COLUMNS), objectName="trials_table")
        self.table.setHorizontalHeaderLabels(list(FIXED_COLUMNS))
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._trial_selected)
        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.addWidget(self.table)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.right)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)
        self._update_buttons()

    def ensure_plots(self):
        """pyqtgraph's widgets are built the first time there is something to draw."""
        if self.plots is None:
            from workbench.ui.sweep.plots import StudyPlots

            self.plots = StudyPlots()
            self.right.addWidget(self.plots)
            self.right.setSizes([220, 320])
        return self.plots

    # ---- the document -------------------------------------------------------------------
    def set_document(self, document) -> None:
        self.document, self._storage, self.rows = document, None, []
        self.form.set_document(document)
        self.poll()

    def search_over(self, key: str) -> bool:
        """Open the range editor for `key` ("Search over this…"); True when the section changed."""
        return self.form.search_over(key)

    def problems(self) -> list[str]:
        return self.form.problems()

    def section(self) -> dict:
        return self.form.section()

    def _show_dock(self) -> None:
        dock = getattr(self.window_, "docks", {}).get("sweep") if self.window_ is not None else None
        if dock is not None:
            dock.show()
            dock.raise_()

    # ---- running --------------------------------------------------------------------------
    def storage(self) -> str | None:
        if self.document is None or self.document.path is None:
            return None
        from workbench.search.study import default_storage

        return default_storage(self.document.path)

    def study_name(self) -> str:
        return self.document.project.name

    def start(self) -> str:
        """Start the sweep; returns why not ("" when it started)."""
        from workbench.ui.sweep.process import SweepProcess

        problems = self.problems()
        if self.document is not None and self.document.path is None:
            problems = ["save the project first: the study is kept beside its file"] + problems
        if problems or self.running:
            self._say(problems[0] if problems else "the sweep is already running", error=True)
            return problems[0] if problems else "already running"
        spec, _ = read_search(self.document.project)
        self.process = SweepProcess(self.document.project, self.storage(), self.study_name(), trials=spec.trials,
                                    workers=spec.workers, timeout=spec.timeout)
        self.process.start()
        self.timer.start()
        self._say(f"running: {spec.trials} trial(s), {spec.workers} worker(s)…")
        self._update_buttons()
        return ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self._say("stopping: the running trials end after their current batch…")

    def shutdown(self) -> None:
        self.timer.stop()
        if self.process is not None:
            self.process.shutdown()
            self.process = None

    def study(self):
        """The open project's study, or None before it has one."""
        url = self.storage()
        if url is None or not Path(url[len("sqlite:///"):]).is_file():
            return None
        import optuna

        from workbench.search.study import storage_of

        if self._storage is None or self._storage[0] != url:
            self._storage = (url, storage_of(url))
        try:
            return optuna.load_study(study_name=self.study_name(), storage=self._storage[1])
        except KeyError:
            return None

    def poll(self) -> None:
        """Read the study again (the timer calls this while the sweep runs)."""
        study = self.study() if self.isVisible() or self.running or self.rows else None
        if study is not None:
            from workbench.search.report import importances, trial_rows

            self.rows = trial_rows(study)
            self._fill_table()
            found, why = importances(study)
            space = self.section().get("space") or {}
            log_keys = [k for k, d in space.items() if isinstance(d, dict) and d.get("log")]
            self.ensure_plots().show(self.rows, study.direction.name == "MAXIMIZE", found, log_keys)
        if self.process is not None and not self.process.running:
            self.timer.stop()
            code, error = self.process.returncode, self.process.error()
            self._say(f"the sweep ended: {error}" if error else
                      "stopped; Start continues the study" if code == 130 else "the sweep finished", error=bool(error))
            self.process.shutdown()
            self.process = None
            runs = getattr(self.window_, "docks", {}).get("runs") if self.window_ is not None else None
            if runs is not None and hasattr(runs.widget(), "mark_stale"):
                runs.widget().mark_stale()
        self._update_buttons()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.poll)

    def _fill_table(self) -> None:
        names = sorted({k for r in self.rows for k in r.params})
        headers = [*FIXED_COLUMNS, *(n.rsplit(".", 1)[-1] for n in names)]
        self.table.blockSignals(True)
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            cells = [str(row.number), row.state, format_value(row.value),
                     "—" if row.seconds is None else f"{row.seconds:.1f}s", *(format_value(row.params.get(n)) for n in names)]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(row.reason or (row.run_dir or ""))
                self.table.setItem(i, j, item)
        for j, name in enumerate(names):
            self.table.horizontalHeaderItem(len(FIXED_COLUMNS) + j).setToolTip(name)
        self.table.blockSignals(False)

    def _trial_selected(self) -> None:
        """Select the trial's run in the Runs dock."""
        picked = sorted({i.row() for i in self.table.selectedIndexes()})
        if not picked or picked[0] >= len(self.rows) or self.window_ is None:
            return
        run_dir = self.rows[picked[0]].run_dir
        runs = getattr(self.window_, "docks", {}).get("runs")
        if run_dir is None or runs is None:
            self._say(f"trial {self.rows[picked[0]].number} has no run folder (it failed before training)")
            return
        panel = runs.widget()
        panel.refresh()
        index = next((i for i, info in enumerate(panel.runs) if Path(info.path) == Path(run_dir)), None)
        if index is None:
            self._say(f"its run folder {run_dir} is not among this project's runs")
            return
        panel.select(index)
        self._say(f"trial {self.rows[picked[0]].number}: its run is selected in the Runs dock")

    def apply_best(self) -> str:
        """Write the best trial's values into the project as one undo step; returns what happened."""
        from workbench.search.report import best_row

        study = self.study()
        best = best_row(study) if study is not None else None
        if best is None:
            self._say("no completed trial yet", error=True)
            return ""
        refusal = apply_values(self.document, best.params, f"Apply best trial {best.number}")
        self._say(f"cannot apply trial {best.number}: {refusal}" if refusal else
                  f"applied trial {best.number} ({format_value(best.value)}); Undo puts the old values back", error=bool(refusal))
        return refusal or ""

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #d9534f;" if error else "")

    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running and self.document is not None)
        self.stop_button.setEnabled(running)
        self.apply_button.setEnabled(any(r.state == "complete" for r in self.rows))
        if not running and self.process is None:
            problems = self.problems()
            if problems:
                self._say(problems[0], error=search_section(self.document.project) is not None if self.document else False)
            elif not self.status.text() or self.status.styleSheet():
                self._say("ready")
