"""A preview of a DataBundle in the Data dock: a few samples with their labels (images as
thumbnails, tokens as text lines, features as a small table, waveforms as their length and
range) and a class histogram (pyqtgraph bars, imported on first use)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

SAMPLES = 8
THUMB = 48
HIST_LIMIT = 5000  # items read for the histogram when the labels are not held as one tensor


def image_to_qimage(x) -> QImage:
    """A [C, H, W] (C = 1 or 3) or [H, W] float tensor -> a QImage, min-max scaled."""
    a = np.asarray(x.detach().cpu().float().numpy() if hasattr(x, "detach") else x, dtype=np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))
    lo, hi = float(a.min()), float(a.max())
    a = np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo)
    a = np.ascontiguousarray((a * 255).astype(np.uint8))
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def label_text(bundle, target) -> str:
    t = target.detach().cpu() if hasattr(target, "detach") else target
    if bundle.task == "classification" and bundle.classes:
        i = int(t)
        return str(bundle.classes[i]) if 0 <= i < len(bundle.classes) else str(i)
    values = np.asarray(t).reshape(-1)
    shown = " ".join(f"{v:.3g}" if isinstance(v, float) or values.dtype.kind == "f" else str(v) for v in values[:6])
    return shown + (" …" if values.size > 6 else "")


def class_counts(bundle) -> np.ndarray | None:
    if bundle.task != "classification" or not bundle.classes:
        return None
    if bundle.train_tensors is not None:
        y = bundle.train_tensors[1]
        labels = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y).reshape(-1)
    else:
        n = min(len(bundle.train), HIST_LIMIT)
        labels = np.array([int(bundle.train[i][1]) for i in range(n)])
    return np.bincount(labels.astype(np.int64), minlength=len(bundle.classes))


class DataPreview(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("data_preview")
        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.histogram = None  # a pyqtgraph PlotWidget, made on first use
        self.counts: np.ndarray | None = None
        self.samples: list[tuple[str, str]] = []  # (kind, label) of each sample shown
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.addWidget(self.note)
        self.layout_.addWidget(self.grid_box)

    def clear(self, note: str = "") -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # gone now, not when deleteLater is processed
                item.widget().deleteLater()
        self.samples = []
        self.counts = None
        self.note.setText(note)
        if self.histogram is not None:
            self.histogram.clear()
            self.histogram.hide()

    def show_bundle(self, bundle) -> None:
        self.clear(bundle.description or bundle.source)
        n = min(SAMPLES, len(bundle.train))
        modality = bundle.modality
        if modality == "features" or (modality != "images" and modality != "tokens" and modality != "waveforms"):
            self._table(bundle, n)
        else:
            for i in range(n):
                inputs, target = bundle.train[i]
                label = label_text(bundle, target)
                x = inputs[0]
                cell = QWidget()
                box = QVBoxLayout(cell)
                box.setContentsMargins(2, 2, 2, 2)
                box.setSpacing(1)
                cell.setMinimumHeight((THUMB if modality == "images" else 16) + 26)
                view = QLabel()
                view.setAlignment(Qt.AlignmentFlag.AlignCenter)
                if modality == "images" and x.dim() in (2, 3):
                    pixmap = QPixmap.fromImage(image_to_qimage(x)).scaled(
                        THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
                    view.setPixmap(pixmap)
                    view.setFixedSize(THUMB, THUMB)
                elif modality == "tokens":
                    ids = x.reshape(-1).tolist()
                    view.setText(" ".join(str(t) for t in ids[:16]) + (" …" if len(ids) > 16 else ""))
                else:
                    a = x.detach().cpu().float()
                    view.setText(f"{a.numel()} samples, {float(a.min()):.2f}…{float(a.max()):.2f}")
                caption = QLabel(label)
                caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
                box.addWidget(view, 0, Qt.AlignmentFlag.AlignHCenter)
                box.addWidget(caption)
                columns = 3 if modality == "images" else 1
                self.grid.addWidget(cell, i // columns, i % columns)
                self.samples.append((modality, label))
        self._histogram(bundle)

    def _table(self, bundle, n: int) -> None:
        table = QTableWidget()
        table.setObjectName("data_preview_table")
        rows = [bundle.train[i] for i in range(n)]
        width = int(rows[0][0][0].numel()) if rows else 0
        shown = min(width, 6)
        table.setColumnCount(shown + 1)
        table.setRowCount(len(rows))
        table.setHorizontalHeaderLabels([f"x{j}" for j in range(shown)] + ["label"])
        for r, (inputs, target) in enumerate(rows):
            values = inputs[0].reshape(-1).tolist()
            for j in range(shown):
                table.setItem(r, j, QTableWidgetItem(f"{values[j]:.3g}"))
            label = label_text(bundle, target)
            table.setItem(r, shown, QTableWidgetItem(label))
            self.samples.append(("features", label))
        table.setMaximumHeight(28 + 24 * len(rows))
        self.grid.addWidget(table, 0, 0)

    def _histogram(self, bundle) -> None:
        self.counts = class_counts(bundle)
        if self.counts is None:
            return
        import pyqtgraph as pg

        if self.histogram is None:
            self.histogram = pg.PlotWidget()
            self.histogram.setObjectName("class_histogram")
            self.histogram.setMaximumHeight(170)
            self.histogram.setMinimumHeight(120)
            self.histogram.setMouseEnabled(False, False)
            self.histogram.setMenuEnabled(False)
            self.layout_.addWidget(self.histogram)
        x = np.arange(len(self.counts))
        self.histogram.clear()
        self.histogram.addItem(pg.BarGraphItem(x=x, height=self.counts, width=0.8, brush="#5b8bd0"))
        names = [str(c) for c in bundle.classes]
        self.histogram.getAxis("bottom").setTicks([list(zip(x.tolist(), names))] if len(names) <= 20 else None)
        self.histogram.setTitle(f"{len(names)} classes · {int(self.counts.sum())} training samples", size="8pt")
        self.histogram.show()
