"""The Try-it dock's "Check export" row: which exported file (if any) answers instead of PyTorch.

The format is read from the name the user picked. `.pt2` and TorchScript files run code
when loaded (DESIGN §9), so one is only ever opened because the user chose it here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from workbench.ui.try_it.inputs import tip

__all__ = ["ArtifactPicker", "artifact_kind"]

NO_ARTIFACT = "none (PyTorch only)"
ARTIFACT_FILTER = "Exported models (*.onnx *.pt2 *.torchscript *.ts *.pt);;All files (*)"


def artifact_kind(path: str) -> str:
    """The exported format of a file by its suffix; any other name is TorchScript."""
    return {".onnx": "onnx", ".pt2": "pt2"}.get(Path(path).suffix.lower(), "torchscript")


class ArtifactPicker(QWidget):
    changed = Signal()

    def __init__(self, folder, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._folder = folder  # () -> where the file dialog starts
        self.path: str | None = None
        self.label = QLabel(NO_ARTIFACT)
        self.label.setObjectName("try_it_artifact_choice")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.choose = QPushButton("Choose file…")
        self.choose.setObjectName("try_it_choose_artifact")
        self.choose.setToolTip("Run an exported file (.onnx, .pt2, TorchScript) and compare it with PyTorch. "
                               ".pt2 and TorchScript files run code when loaded: choose only files you trust.")
        self.choose.clicked.connect(lambda _checked=False: self.pick())
        self.clear = QPushButton("Clear")
        self.clear.setToolTip("Answer with the PyTorch weights again")
        self.clear.setEnabled(False)
        self.clear.clicked.connect(lambda _checked=False: self.set_path(None))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.choose)
        row.addWidget(self.clear)

    @property
    def kind(self) -> str | None:
        return artifact_kind(self.path) if self.path else None

    def pick(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Exported model", self._folder(), ARTIFACT_FILTER)
        if path:
            self.set_path(path)

    def set_path(self, path: str | None) -> None:
        self.path = path
        self.label.setText(Path(path).name if path else NO_ARTIFACT)
        self.label.setToolTip(tip(path or ""))
        self.clear.setEnabled(path is not None)
        self.changed.emit()
