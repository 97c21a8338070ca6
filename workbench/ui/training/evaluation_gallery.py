"""The Evaluation dock's gallery: validation samples captioned "pred X (93%) · true Y",
as thumbnails (images, waveforms) or as lines (text, tabular rows), worst first.

What it shows comes from an evaluation payload (workbench/training/evaluation.py): its
worst mistakes, or the samples of one confusion-matrix cell. Mistakes are captioned in
red, correct answers in blue, as in the matrix.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

from workbench.ui.settings_panels.preview import image_to_qimage, waveform_pixmap
from workbench.ui.training.confusion_matrix import CORRECT, WRONG

__all__ = ["SampleGallery", "INDEX_ROLE", "cell_of", "entries_of", "caption"]

INDEX_ROLE = Qt.ItemDataRole.UserRole  # an item's validation-sample index
THUMB = 64  # px, an image's thumbnail
WAVE = (120, 34)  # px, a waveform's


def cell_of(payload: dict | None, true: int, pred: int) -> list | None:
    """The payload's [true, pred, indices, confidences] entry, None when the cell is empty."""
    for cell in (payload or {}).get("cells", []):
        if cell[0] == true and cell[1] == pred:
            return cell
    return None


def entries_of(payload: dict | None, cell: tuple[int, int] | None) -> list[dict]:
    """What to show: the worst mistakes (cell None) or one cell's samples, as dicts with
    index, true, pred and confidence (classification) or error (regression)."""
    if cell is None:
        return list((payload or {}).get("worst", []))
    found = cell_of(payload, *cell)
    if found is None:
        return []
    true, pred, indices, confidences = found
    return [{"index": i, "true": true, "pred": pred, "confidence": c} for i, c in zip(indices, confidences)]


def caption(payload: dict, entry: dict) -> str:
    if payload.get("task") == "regression":
        return f"pred {_values(entry['pred'])} · true {_values(entry['true'])}"
    classes = payload["classes"]
    confidence = entry.get("confidence")
    sure = f" ({confidence:.0%})" if confidence is not None else ""
    return f"pred {classes[entry['pred']]}{sure} · true {classes[entry['true']]}"


def title(payload: dict, cell: tuple[int, int] | None, shown: int) -> str:
    if payload.get("task") == "regression":
        return f"Largest errors: {shown}"
    if cell is None:
        return f"Worst mistakes: {shown} of {payload.get('mistakes', shown)}, most confident first"
    true, pred = cell
    classes = payload["classes"]
    count = int(np.asarray(payload["matrix"])[true, pred]) if payload.get("matrix") else shown
    what = "correct" if true == pred else f"predicted {classes[pred]}"
    order = "least confident first" if true == pred else "most confident first"
    of = f"{shown} of {count}" if count > shown else str(count)
    return f"True {classes[true]}, {what}: {of}, {order}"


class SampleGallery(QWidget):
    all_mistakes = Signal()  # the "All mistakes" button

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("gallery_title")
        self.all_button = QPushButton("All mistakes")
        self.all_button.setObjectName("all_mistakes_button")
        self.all_button.setToolTip("Show the worst mistakes of every class again")
        self.all_button.clicked.connect(lambda _checked=False: self.all_mistakes.emit())
        self.list = QListWidget()
        self.list.setObjectName("evaluation_gallery")
        self.list.setMovement(QListView.Movement.Static)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(True)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.all_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(head)
        column.addWidget(self.list)

    def clear(self) -> None:
        self.list.clear()
        self.title.setText("")
        self.all_button.setEnabled(False)

    def fill(self, payload: dict, cell: tuple[int, int] | None, sample: Callable[[int], object],
             note: str = "") -> None:
        """Show `payload`'s worst mistakes or `cell`'s samples; `sample(index)` gives a
        displayable Sample or None (not loaded yet); `note` follows the title."""
        self.list.clear()
        entries = entries_of(payload, cell)
        self.title.setText(title(payload, cell, len(entries)) + note)
        self.all_button.setEnabled(cell is not None)
        self.all_button.setVisible(payload.get("task") != "regression")
        first = sample(entries[0]["index"]) if entries else None
        pictures = first is not None and first.kind in ("image", "waveform")
        self.list.setViewMode(QListView.ViewMode.IconMode if pictures else QListView.ViewMode.ListMode)
        icon = QSize(*WAVE) if pictures and first.kind == "waveform" else QSize(THUMB, THUMB)
        self.list.setIconSize(icon if pictures else QSize(0, 0))
        self.list.setGridSize(QSize(max(icon.width() + 24, 144), icon.height() + 40) if pictures else QSize())
        for entry in entries:
            shown = sample(entry["index"])
            text = caption(payload, entry)
            item = QListWidgetItem(text if pictures or shown is None else f"{text}   ·   input {shown.data}")
            item.setData(INDEX_ROLE, entry["index"])
            item.setToolTip(f"validation sample {entry['index']}" + (
                f" · error {entry['error']:.4g}" if entry.get("error") is not None else ""))
            if payload.get("task") != "regression":
                item.setForeground(CORRECT if entry["true"] == entry["pred"] else WRONG)
            if pictures and shown is not None:
                item.setIcon(QIcon(_thumbnail(shown)))
            self.list.addItem(item)


def _thumbnail(sample) -> QPixmap:
    if sample.kind == "image":
        return QPixmap.fromImage(image_to_qimage(sample.data)).scaled(
            THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    return waveform_pixmap(sample.data, *WAVE)


def _values(values) -> str:
    return " ".join(f"{v:.3g}" if v is not None else "nan" for v in values)
