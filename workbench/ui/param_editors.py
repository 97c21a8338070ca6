"""One editor widget per parameter kind, generated from a Param schema.

Every editor emits `edited(value)` with a plain JSON value as the user types (text it
cannot parse is emitted as the raw string, so the schema's own validation produces
the message) and `finished()` when the user leaves the field. `set_value` never
emits. Optional parameters get a "None" check box in front of the editor.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from workbench.core.params import BOOL, CHOICE, FLOAT, INT, INTS, PADDING, SHAPE, Param

INT_LIMIT = 2_147_483_647


class ParamEditor(QWidget):
    edited = Signal(object)
    finished = Signal()
    discrete = False  # each change is its own undo step (check boxes, combo boxes)

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(parent)
        self.param = param
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self._quiet = False

    def set_value(self, value: Any) -> None:
        self._quiet = True
        try:
            self._show(value)
        finally:
            self._quiet = False

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def value(self) -> Any:
        raise NotImplementedError

    def _emit(self, *_args) -> None:
        if not self._quiet:
            self.edited.emit(self.value())


def _int_spin(param: Param, parent) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(int(param.min) if param.min is not None else -INT_LIMIT, int(param.max) if param.max is not None else INT_LIMIT)
    spin.setAccelerated(True)
    spin.setMinimumWidth(46)  # a narrow inspector squeezes fields instead of clipping them
    return spin


class IntEditor(ParamEditor):
    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.spin = _int_spin(param, self)
        self.row.addWidget(self.spin)
        self.spin.valueChanged.connect(self._emit)
        self.spin.editingFinished.connect(self.finished)

    def _show(self, value) -> None:
        if isinstance(value, int) and self.spin.value() != value:
            self.spin.setValue(value)

    def value(self):
        return self.spin.value()


class FloatSpin(QDoubleSpinBox):
    """A spin box that shows 1e-05 as 1e-05, not 0.00."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(12)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            partial = re.fullmatch(r"[-+]?(\d*\.?\d*([eE][-+]?\d*)?)?", text) is not None
            return QValidator.State.Intermediate if partial else QValidator.State.Invalid
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable
        return QValidator.State.Intermediate


class FloatEditor(ParamEditor):
    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.spin = FloatSpin(self)
        self.spin.setMinimumWidth(60)
        self.spin.setRange(param.min if param.min is not None else -1e12, param.max if param.max is not None else 1e12)
        self.spin.setSingleStep(0.05 if param.max is not None and param.max <= 1 else 0.1)
        self.row.addWidget(self.spin)
        self.spin.valueChanged.connect(self._emit)
        self.spin.editingFinished.connect(self.finished)

    def _show(self, value) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and self.spin.value() != value:
            self.spin.setValue(float(value))

    def value(self):
        return self.spin.value()


class BoolEditor(ParamEditor):
    discrete = True

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.box = QCheckBox(self)
        self.row.addWidget(self.box)
        self.box.toggled.connect(self._emit)

    def _show(self, value) -> None:
        self.box.setChecked(bool(value))

    def value(self):
        return self.box.isChecked()


class ChoiceEditor(ParamEditor):
    discrete = True

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.combo = QComboBox(self)
        self.combo.setMinimumWidth(70)
        self.combo.addItems(list(param.choices))
        self.row.addWidget(self.combo)
        self.combo.currentTextChanged.connect(self._emit)

    def _show(self, value) -> None:
        if value in self.param.choices:
            self.combo.setCurrentText(value)

    def value(self):
        return self.combo.currentText()


def parse_ints(text: str):
    """'1, 28, 28' or '[1, 28, 28]' or '3x3' -> [1, 28, 28]; anything else comes back as text."""
    parts = [p for p in re.split(r"[\s,×xX*]+", text.strip().strip("[]()")) if p]
    try:
        return [int(p) for p in parts] if parts else text
    except ValueError:
        return text


class TextEditor(ParamEditor):
    """Free text: `str` params, and shapes typed as '1, 28, 28'."""

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.edit = QLineEdit(self)
        if param.kind == SHAPE:
            self.edit.setPlaceholderText("e.g. 1, 28, 28")
        self.row.addWidget(self.edit)
        self.edit.textEdited.connect(self._emit)
        self.edit.editingFinished.connect(self.finished)

    def _show(self, value) -> None:
        text = ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else ("" if value is None else str(value))
        if self.value() != (parse_ints(text) if self.param.kind == SHAPE else text):
            self.edit.setText(text)

    def value(self):
        text = self.edit.text()
        return parse_ints(text) if self.param.kind == SHAPE else text


class IntsEditor(ParamEditor):
    """An int or a tuple of `length` ints, edited as `3 × 3`; equal values are saved as one int."""

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.spins: list[QSpinBox] = []
        for i in range(max(1, param.length)):
            if i:
                self.row.addWidget(QLabel("×", self))
            spin = _int_spin(param, self)
            spin.valueChanged.connect(self._emit)
            spin.editingFinished.connect(self.finished)
            self.row.addWidget(spin)
            self.spins.append(spin)

    def _show(self, value) -> None:
        if isinstance(value, bool) or value is None:
            return
        values = list(value) if isinstance(value, (list, tuple)) else [value] * len(self.spins)
        if len(values) == len(self.spins) and all(isinstance(v, int) for v in values):
            for spin, v in zip(self.spins, values):
                if spin.value() != v:
                    spin.setValue(v)

    def value(self):
        values = [s.value() for s in self.spins]
        return values[0] if len(set(values)) == 1 else values


class PaddingEditor(ParamEditor):
    """Numbers, or one of the named modes ('same', 'valid')."""

    NUMBERS = "explicit"

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.mode = QComboBox(self)
        self.mode.setMinimumWidth(60)
        self.mode.addItems([self.NUMBERS, *param.choices])
        self.numbers = IntsEditor(param, self)
        self.row.addWidget(self.mode)
        self.row.addWidget(self.numbers, 1)
        self.mode.currentTextChanged.connect(self._mode_changed)
        self.numbers.edited.connect(self._emit)
        self.numbers.finished.connect(self.finished)

    def _mode_changed(self, _text: str) -> None:
        self.numbers.setEnabled(self.mode.currentText() == self.NUMBERS)
        self._emit()

    def _show(self, value) -> None:
        if isinstance(value, str):
            self.mode.setCurrentText(value)
        else:
            self.mode.setCurrentText(self.NUMBERS)
            self.numbers.set_value(value)
        self.numbers.setEnabled(self.mode.currentText() == self.NUMBERS)

    def value(self):
        mode = self.mode.currentText()
        return self.numbers.value() if mode == self.NUMBERS else mode


class OptionalEditor(ParamEditor):
    """A 'None' check box in front of another editor, for parameters that may be None."""

    def __init__(self, param: Param, inner: ParamEditor, parent=None) -> None:
        super().__init__(param, parent)
        self.none = QCheckBox("None", self)
        self.none.setToolTip("Leave unset (None): " + (param.help or "the layer's own default"))
        self.inner = inner
        inner.setParent(self)
        self.row.addWidget(self.none)
        self.row.addWidget(inner, 1)
        self.none.toggled.connect(self._toggled)
        inner.edited.connect(self._emit)
        inner.finished.connect(self.finished)

    def _toggled(self, checked: bool) -> None:
        self.inner.setEnabled(not checked)
        if not self._quiet:
            self._emit()
            self.finished.emit()

    def _show(self, value) -> None:
        self.none.setChecked(value is None)
        self.inner.setEnabled(value is not None)
        if value is not None:
            self.inner.set_value(value)

    def value(self):
        return None if self.none.isChecked() else self.inner.value()


_EDITORS = {INT: IntEditor, FLOAT: FloatEditor, BOOL: BoolEditor, CHOICE: ChoiceEditor, INTS: IntsEditor, PADDING: PaddingEditor}


def editor_for(param: Param, parent=None) -> ParamEditor:
    cls = _EDITORS.get(param.kind, TextEditor)
    editor = cls(param, parent)
    if param.optional:
        return OptionalEditor(param, editor, parent)
    return editor
