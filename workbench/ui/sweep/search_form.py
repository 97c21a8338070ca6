"""The Sweep dock's left half: what the open project's sweep varies and optimises.

Every field here is the project's search section (workbench.search.space), written as an
undoable command (edit.py) and shown again after any edit, undo or redo. "Search over
this…" (context.py) lands in `search_over`, which opens the range editor.
"""

from __future__ import annotations

import copy
import math
import types

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from workbench.core.text import describe
from workbench.search.space import DIRECTIONS, PRUNERS, SAMPLERS, parse_duration, read_search, search_section
from workbench.ui.sweep.edit import set_search

__all__ = ["SearchForm", "METRICS"]

METRICS = ("val_accuracy", "val_loss", "val_top5_accuracy", "val_mae", "val_rmse", "val_perplexity", "train_loss")


class SearchForm(QWidget):
    changed = Signal()  # the section was shown again (after an edit, undo or redo)
    searched = Signal(str)  # a setting was added, changed or removed through the range editor
    message = Signal(str)  # a field's value was refused

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.document, self._loading = None, False
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
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("Search over (right-click a field, 'Search over this…'; double-click to edit)"))
        column.addWidget(self.dims, 1)
        form = QFormLayout()
        column.addLayout(form)
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

    def set_document(self, document) -> None:
        if self.document is not None:
            self.document.undo_stack.indexChanged.disconnect(self.refresh)
        self.document = document
        if document is not None:
            document.undo_stack.indexChanged.connect(self.refresh)
        self.refresh()

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
        self.changed.emit()

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
            self.message.emit(f"timeout: {text!r} is not a duration such as 90s, 30m or 2h")
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
        self.searched.emit(key)
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


def _range_text(dim) -> str:
    if not isinstance(dim, dict):
        return describe(dim, 60)
    if dim.get("type") == "categorical":
        return " | ".join(map(str, dim.get("choices", [])))
    text = f"{dim.get('type')} {format_value(dim.get('low'))} … {format_value(dim.get('high'))}"
    if dim.get("step") is not None:
        text += f" step {format_value(dim['step'])}"
    return text + (" (log)" if dim.get("log") else "")


def format_value(value) -> str:
    """A sampled or bound value as the Sweep dock shows it."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)
