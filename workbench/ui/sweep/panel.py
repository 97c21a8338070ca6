"""The Sweep dock: what the open project's sweep varies and optimises, Start/Stop, and the
study as it fills (trial table, best so far, importances, parallel coordinates, slices).

Every setting here is the project's search section, edited as undoable commands (edit.py).
Start runs the sweep in a child process (process.py); a timer reads the study's storage
once a second while it runs. Optuna loads on first use, never at start-up.
"""

from __future__ import annotations

import copy
import math
import types
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from workbench.core.text import describe
from workbench.search.space import DIRECTIONS, PRUNERS, SAMPLERS, parse_duration, read_search, search_section
from workbench.ui.sweep.edit import apply_values, set_search

__all__ = ["SweepPanel", "METRICS"]

METRICS = ("val_accuracy", "val_loss", "val_top5_accuracy", "val_mae", "val_rmse", "val_perplexity", "train_loss")
POLL_MS = 1000
FIXED_COLUMNS = ("trial", "state", "value", "time")


class SweepPanel(QWidget):
    def __init__(self, window=None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sweep_panel")
        self.window_, self.document, self.process = window, None, None
        self.rows, self._storage, self._loading = [], None, False
        self.plots = None
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    # ---- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self.dims = QTableWidget(0, 2, objectName="dimensions")
        self.dims.setHorizontalHeaderLabels(["setting", "range"])
        self.dims.horizontalHeader().setStretchLastSection(True)
        self.dims.verticalHeader().hide()
        self.dims.cellDoubleClicked.connect(lambda row, _c: self.search_over(self.dims.item(row, 0).text()))
        self.metric = QComboBox(objectName="metric", editable=True)
        self.metric.addItems(METRICS)
        self.direction = QComboBox(objectName="direction")
        self.direction.addItems(DIRECTIONS)
        self.trials = QSpinBox(objectName="trials", minimum=1, maximum=100_000)
        self.timeout = QLineEdit(objectName="timeout", placeholderText="none (e.g. 30m)")
        self.sampler = QComboBox(objectName="sampler")
        self.sampler.addItems(list(SAMPLERS))
        self.pruner = QComboBox(objectName="pruner")
        self.pruner.addItems(list(PRUNERS))
        self.workers = QSpinBox(objectName="workers", minimum=1, maximum=64)
        form = QFormLayout()
        for label, widget in (("Objective", self.metric), ("", self.direction), ("Trials", self.trials),
                              ("Timeout", self.timeout), ("Sampler", self.sampler), ("Pruner", self.pruner),
                              ("Workers", self.workers)):
            form.addRow(label, widget)
        self.metric.currentTextChanged.connect(lambda t: self._edit(("objective", "metric"), t))
        self.direction.currentTextChanged.connect(lambda t: self._edit(("objective", "direction"), t))
        self.trials.valueChanged.connect(lambda v: self._edit(("trials",), v))
        self.timeout.editingFinished.connect(self._timeout_edited)
        self.sampler.currentTextChanged.connect(lambda t: self._edit(("sampler",), t))
        self.pruner.currentTextChanged.connect(self._pruner_edited)
        self.workers.valueChanged.connect(lambda v: self._edit(("workers",), v))
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
        column.addWidget(QLabel("Search over (right-click a field, 'Search over this…'; double-click to edit)"))
        column.addWidget(self.dims, 1)
        column.addLayout(form)
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
        if self.document is not None:
            self.document.undo_stack.indexChanged.disconnect(self.refresh)
        self.document, self._storage, self.rows = document, None, []
        if document is not None:
            document.undo_stack.indexChanged.connect(self.refresh)
        self.refresh()
        self.poll()

    def section(self) -> dict:
        raw = search_section(self.document.project) if self.document else None
        return copy.deepcopy(raw) if isinstance(raw, dict) else self._new_section()

    def _new_section(self) -> dict:
        loss = (self.document.project.training.get("loss") or {}) if self.document else {}
        kind = loss.get("type") if isinstance(loss, dict) else loss
        classify = kind in (None, "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss")
        return {"objective": {"metric": "val_accuracy" if classify else "val_loss",
                              "direction": "maximize" if classify else "minimize"}, "trials": 20, "space": {}}

    def refresh(self, *_args) -> None:
        """Show the search section as it is now (after any edit, undo or redo)."""
        self._loading = True
        try:
            section = self.section()
            space = section.get("space") if isinstance(section.get("space"), dict) else {}
            self.dims.setRowCount(len(space))
            for row, (key, dim) in enumerate(space.items()):
                self.dims.setItem(row, 0, QTableWidgetItem(str(key)))
                self.dims.setItem(row, 1, QTableWidgetItem(_range_text(dim)))
            self.dims.resizeColumnToContents(0)
            objective = section.get("objective") if isinstance(section.get("objective"), dict) else {}
            self.metric.setCurrentText(str(objective.get("metric", "val_loss")))
            self.direction.setCurrentText(str(objective.get("direction", "minimize")))
            self.trials.setValue(section.get("trials", 20) if isinstance(section.get("trials"), int) else 20)
            timeout = section.get("timeout")
            self.timeout.setText("" if timeout is None else f"{timeout:g}s" if isinstance(timeout, (int, float))
                                 else str(timeout))
            sampler = section.get("sampler", "tpe")
            self.sampler.setCurrentText(sampler.get("type", "tpe") if isinstance(sampler, dict) else str(sampler))
            numeric = all(isinstance(d, dict) and d.get("type") != "categorical" for d in space.values())
            self.sampler.model().item(SAMPLERS.index("cmaes")).setEnabled(numeric)
            pruner = section.get("pruner", "median")
            self.pruner.setCurrentText(str(pruner.get("type", "median") if isinstance(pruner, dict) else pruner))
            self.workers.setValue(section.get("workers", 1) if isinstance(section.get("workers"), int) else 1)
        finally:
            self._loading = False
        self._update_buttons()

    def problems(self) -> list[str]:
        if self.document is None:
            return ["open a project"]
        if search_section(self.document.project) is None:
            return ["nothing to search yet: right-click a field in the Inspector or Training settings and choose "
                    "'Search over this…'"]
        return [f"{p.field}: {p.message}" for p in read_search(self.document.project)[1]]

    def _edit(self, path: tuple, value) -> None:
        if self._loading or self.document is None:
            return
        section = self.section()
        here = section
        for part in path[:-1]:
            here = here.setdefault(part, {}) if isinstance(here.get(part), dict) else here.setdefault(part, {})
        if value is None:
            here.pop(path[-1], None)
        else:
            here[path[-1]] = value
        set_search(self.document, section, path, f"Sweep {'.'.join(path)}")

    def _pruner_edited(self, kind: str) -> None:
        """Another pruner: its own options (a dict's) do not carry over."""
        self._edit(("pruner",), kind)

    def _timeout_edited(self) -> None:
        text = self.timeout.text().strip()
        seconds = parse_duration(text) if text else None
        if text and seconds is None:
            self._say(f"timeout: {text!r} is not a duration such as 90s, 30m or 2h", error=True)
            return
        self._edit(("timeout",), seconds)

    def search_over(self, key: str) -> bool:
        """Open the range editor for `key`; True when the search section changed."""
        from workbench.ui.sweep.range_dialog import RangeDialog
        from workbench.ui.sweep.target_info import describe_target

        if self.document is None:
            return False
        section = self.section()
        space = section.setdefault("space", {})
        value, kinds, options = describe_target(self.document.project, key)
        from workbench.ui.sweep.range_dialog import proposed_range

        dim = space.get(key) if isinstance(space.get(key), dict) else proposed_range(value, kinds, options)
        dialog = RangeDialog(key, dim, kinds, lambda d: self._check(section, key, d), existing=key in space,
                             parent=self)
        self.range_dialog = dialog
        if dialog.exec() != RangeDialog.DialogCode.Accepted:
            return False
        if dialog.removed:
            space.pop(key, None)
        else:
            space[key] = dialog.result_dim
        set_search(self.document, section, ("space", key), f"Search over {key}")
        self._show_dock()
        return True

    def _check(self, section: dict, key: str, dim: dict) -> list[str]:
        trial = copy.deepcopy(section)
        trial.setdefault("space", {})[key] = dim
        project = self.document.project
        probe = types.SimpleNamespace(extra={"search": trial}, graph=project.graph, training=project.training,
                                      data=project.data)
        where = f"search.space[{describe(key, 80)}]"
        return [f"{p.field[len(where):].lstrip('.') or 'range'}: {p.message}" for p in read_search(probe)[1]
                if p.field and p.field.startswith(where)]

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
            cells = [str(row.number), row.state, _num(row.value),
                     "—" if row.seconds is None else f"{row.seconds:.1f}s", *(_num(row.params.get(n)) for n in names)]
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
                  f"applied trial {best.number} ({_num(best.value)}); Undo puts the old values back", error=bool(refusal))
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


def _range_text(dim) -> str:
    if not isinstance(dim, dict):
        return describe(dim, 60)
    if dim.get("type") == "categorical":
        return " | ".join(map(str, dim.get("choices", [])))
    text = f"{dim.get('type')} {_num(dim.get('low'))} … {_num(dim.get('high'))}"
    if dim.get("step") is not None:
        text += f" step {_num(dim['step'])}"
    return text + (" (log)" if dim.get("log") else "")


def _num(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)
