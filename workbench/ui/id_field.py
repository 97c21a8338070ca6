"""The inspector's id field: rename the selected node (one undo step; see core/rename.py).

The new id is applied on Enter or when the field loses focus; an id the graph refuses
(not an identifier, a reserved name, taken) stays in the field, marked, with the reason
below it, and nothing changes until it is fixed or Escape puts the current id back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from workbench.core.rename import RenameNode, rename_problem


class IdField(QWidget):
    renamed = Signal(str)  # the node's new id

    def __init__(self, document, node_id: str, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.node_id = node_id
        self.busy = False
        self.edit = QLineEdit(node_id, self)
        self.edit.setToolTip("The node's id: the name of its module and variable in the generated code. "
                             "Edit and press Enter to rename it (edges and weight ties follow).")
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d23c3c;")
        self.message.hide()
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(QLabel("id"), self.edit)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addLayout(form)
        column.addWidget(self.message)
        self.edit.editingFinished.connect(self.apply)
        self.edit.textEdited.connect(self._check)
        self.edit.installEventFilter(self)

    def _check(self, text: str) -> str | None:
        problem = rename_problem(self.document.graph, self.node_id, text.strip())
        self.message.setText(f"⚠ {problem}" if problem else "")
        self.message.setVisible(bool(problem))
        self.edit.setStyleSheet("border: 1px solid #d23c3c;" if problem else "")
        return problem

    def apply(self) -> bool:
        """Rename to the field's text; False (the reason shown at the field) when refused."""
        new = self.edit.text().strip()
        if new == self.node_id or self.node_id not in self.document.graph:
            return new == self.node_id
        if self._check(new) is not None:
            return False
        self.busy = True  # the inspector keeps this page while the rename's events go by
        try:
            error = self.document.push(RenameNode(self.node_id, new))
        finally:
            self.busy = False
        if error:
            self.message.setText(f"⚠ {error}")
            self.message.show()
            return False
        self.node_id = new
        self.renamed.emit(new)
        return True

    def eventFilter(self, obj, event) -> bool:
        if obj is self.edit and event.type() == event.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self.edit.setText(self.node_id)
            self._check(self.node_id)
            return True
        return super().eventFilter(obj, event)
