"""The small range editor behind "Search over this…": type, low/high/step/log or choices.

It proposes a range around the field's current value (a float x10 either way on a log
scale, an int halved to doubled, a choice field's own options) and checks what the user
typed with the same rules a sweep uses (workbench.search.space and targets), so OK is
only possible for a dimension the sweep will accept.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QVBoxLayout)

__all__ = ["RangeDialog", "proposed_range", "parse_choices"]


def proposed_range(value: Any, types: tuple[str, ...], options: tuple = ()) -> dict:
    """A sensible first range for a field holding `value`."""
    if options or "float" not in types and "int" not in types or isinstance(value, (bool, str)) or value is None:
        choices = list(options) or [value]
        return {"type": "categorical", "choices": choices}
    if "float" in types and isinstance(value, float):
        if value > 0:
            return {"type": "float", "low": value / 10, "high": value * 10, "log": True}
        return {"type": "float", "low": 0.0, "high": 1.0}
    value = value if isinstance(value, int) else 1
    return {"type": "int", "low": max(1, value // 2), "high": max(2, value * 2)}


def parse_choices(text: str) -> list:
    """"Adam, SGD" -> ["Adam", "SGD"]; "8, 16, true" -> [8, 16, True]: JSON where it parses, text otherwise."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = json.loads(part)
        except ValueError:
            value = part
        out.append(value if value is None or isinstance(value, (str, int, float, bool)) else part)
    return out


class RangeDialog(QDialog):
    """Edit one dimension. `check(dim) -> [messages]`; `result_dim` is the accepted dict."""

    def __init__(self, key: str, dim: dict, types: tuple[str, ...], check: Callable[[dict], list[str]],
                 existing: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("range_dialog")
        self.setWindowTitle(f"Search over {key}")
        self.check, self.result_dim, self.removed = check, None, False
        form = QFormLayout()
        self.type = QComboBox()
        self.type.setObjectName("type")
        self.type.addItems(list(types))
        self.low, self.high, self.step = (QLineEdit(objectName=n) for n in ("low", "high", "step"))
        self.step.setPlaceholderText("none")
        self.log = QCheckBox("log scale", objectName="log")
        self.choices = QLineEdit(objectName="choices")
        self.choices.setPlaceholderText("comma-separated, e.g. Adam, SGD")
        for label, widget in (("Type", self.type), ("Low", self.low), ("High", self.high), ("Step", self.step),
                              ("", self.log), ("Choices", self.choices)):
            form.addRow(label, widget)
        self.rows = form
        self.message = QLabel(objectName="message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d9534f;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        if existing:
            remove = buttons.addButton("Remove from search", QDialogButtonBox.ButtonRole.DestructiveRole)
            remove.setObjectName("remove")
            remove.clicked.connect(self._remove)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{key}</b>"))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.type.currentTextChanged.connect(self._show_rows)
        self.show_dim(dim)

    def show_dim(self, dim: dict) -> None:
        kind = dim.get("type", self.type.itemText(0))
        if self.type.findText(kind) >= 0:
            self.type.setCurrentText(kind)
        for field in ("low", "high", "step"):
            value = dim.get(field)
            getattr(self, field).setText("" if value is None else f"{value:g}" if isinstance(value, float) else str(value))
        self.log.setChecked(bool(dim.get("log")))
        self.choices.setText(", ".join(c if isinstance(c, str) else json.dumps(c) for c in dim.get("choices", [])))
        self._show_rows(self.type.currentText())

    def _show_rows(self, kind: str) -> None:
        numeric = kind != "categorical"
        for widget in (self.low, self.high, self.step, self.log):
            self.rows.setRowVisible(widget, numeric)
        self.rows.setRowVisible(self.choices, not numeric)

    def dim(self) -> dict:
        kind = self.type.currentText()
        if kind == "categorical":
            return {"type": kind, "choices": parse_choices(self.choices.text())}
        dim: dict[str, Any] = {"type": kind}
        for field in ("low", "high", "step"):
            text = getattr(self, field).text().strip()
            if text:
                dim[field] = _number(text, kind)
        if self.log.isChecked():
            dim["log"] = True
        return dim

    def accept(self) -> None:
        dim = self.dim()
        problems = self.check(dim)
        if problems:
            self.message.setText("\n".join(problems))
            return
        self.result_dim = dim
        super().accept()

    def _remove(self) -> None:
        self.removed = True
        super().accept()


def _number(text: str, kind: str):
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        return text  # the check names it: "low: must be a whole number, got 'abc'"
