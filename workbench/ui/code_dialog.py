"""'View PyTorch code': the codegen output, read-only, with a copy button."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout


def generate(document) -> tuple[str | None, str | None]:
    """(source, None) or (None, the reason it cannot be generated)."""
    from workbench.core.codegen import codegen
    from workbench.core.compile import CompileError

    try:
        return codegen(document.graph, document.project.name, document.result), None
    except CompileError as exc:
        where = f"{exc.node_id}: " if exc.node_id else ""
        return None, f"The model has errors, so there is no code yet.\n\n{where}{exc.reason}"


class CodeDialog(QDialog):
    def __init__(self, document, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"PyTorch code — {document.project.name}")
        self.resize(760, 640)
        source, problem = generate(document)
        self.source = source
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText(source if source is not None else problem)
        note = QLabel("Standalone PyTorch: it needs nothing from Model Workbench." if source else "")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setEnabled(source is not None)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def copy(self) -> None:
        if self.source is not None:
            QApplication.clipboard().setText(self.source)
            self.copy_button.setText("Copied")
