"""A confusion matrix drawn as a heat map: rows are the true class, columns the predicted
one, each cell shows its count. Correct answers (the diagonal) are blue, mistakes red, each
shaded by its share of the row, so a weak class and its usual confusion stand out at a
glance. Clicking a cell emits `cell_clicked(true, pred)`. The widget takes the size its
cells need; put it in a QScrollArea for many classes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

__all__ = ["ConfusionMatrix"]

CORRECT = QColor(59, 125, 216)
WRONG = QColor(214, 69, 65)
EMPTY = QColor(128, 128, 128, 28)
MAX_CELL, MIN_CELL = 34, 22  # px: cells shrink to fit the dock's height, then it scrolls
LABEL_MAX = 90  # px: longer class names are elided
TITLE = 18  # px for the axis titles


def _shade(base: QColor, share: float) -> QColor:
    """`base` mixed with transparent: a larger share of the row, a stronger colour."""
    c = QColor(base)
    c.setAlpha(int(40 + 215 * min(max(share, 0.0), 1.0)))
    return c


class ConfusionMatrix(QWidget):
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusion_matrix")
        self.setMouseTracking(True)
        self.classes: list[str] = []
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.selected: tuple[int, int] | None = None
        self.cell = MAX_CELL
        self._left = self._top = 0
        self._vertical_columns = False

    # ---- data -------------------------------------------------------------------------------
    def set_matrix(self, classes: list[str], matrix) -> None:
        self.classes = [str(c) for c in classes]
        self.matrix = np.asarray(matrix, dtype=np.int64).reshape(len(classes), len(classes))
        self.selected = None
        self._layout()

    def fit_height(self, height: int) -> None:
        """Shrink the cells (down to MIN_CELL) so the matrix fits `height` pixels if it can."""
        n = len(self.classes)
        cell = max(MIN_CELL, min(MAX_CELL, (height - self._top - 2) // n)) if n else MAX_CELL
        if cell != self.cell:
            self._layout(cell)

    def _layout(self, cell: int | None = None) -> None:
        self.cell = cell or self.cell
        metrics = QFontMetrics(self.font())
        widest = max((metrics.horizontalAdvance(c) for c in self.classes), default=0)
        label = min(widest, LABEL_MAX) + 8
        self._vertical_columns = widest + 4 > self.cell
        self._left = TITLE + label
        self._top = TITLE + (label if self._vertical_columns else metrics.height() + 4)
        self.setFixedSize(self.sizeHint())
        self.update()

    def select(self, cell: tuple[int, int] | None) -> None:
        self.selected = cell
        self.update()

    # ---- geometry ---------------------------------------------------------------------------
    def height_for(self, n: int, cell: int = MIN_CELL) -> int:
        """Pixels `n` classes need at `cell` px a row, with one-digit-wide class names."""
        return TITLE + QFontMetrics(self.font()).height() + 4 + n * cell + 2

    def sizeHint(self) -> QSize:
        n = len(self.classes)
        return QSize(self._left + n * self.cell + 2, self._top + n * self.cell + 2)

    def cell_rect(self, true: int, pred: int) -> QRect:
        return QRect(self._left + pred * self.cell, self._top + true * self.cell, self.cell, self.cell)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        n = len(self.classes)
        col, row = (pos.x() - self._left) // self.cell, (pos.y() - self._top) // self.cell
        if pos.x() < self._left or pos.y() < self._top or not (0 <= row < n and 0 <= col < n):
            return None
        return int(row), int(col)

    # ---- painting ---------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        n = len(self.classes)
        if not n:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        text = self.palette().windowText().color()
        rows = self.matrix.sum(1)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() - (1 if self.cell < MAX_CELL else 0)))
        for t in range(n):
            for q in range(n):
                rect = self.cell_rect(t, q).adjusted(1, 1, -1, -1)
                count = int(self.matrix[t, q])
                share = count / rows[t] if rows[t] else 0.0
                fill = EMPTY if count == 0 else _shade(CORRECT if t == q else WRONG, share)
                p.fillRect(rect, fill)
                if count:
                    p.setFont(small)
                    p.setPen(QColor("white") if fill.alpha() > 150 else text)
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(count))
        if self.selected is not None:
            p.setPen(QPen(text, 2))
            p.drawRect(self.cell_rect(*self.selected).adjusted(1, 1, -1, -1))
        self._paint_labels(p, text)
        p.end()

    def _paint_labels(self, p: QPainter, color: QColor) -> None:
        n = len(self.classes)
        metrics = QFontMetrics(self.font())
        p.setFont(self.font())
        p.setPen(color)
        grid_w = n * self.cell
        title = QFont(self.font())
        title.setBold(True)
        p.setFont(title)
        p.drawText(QRect(self._left, 0, grid_w, TITLE), Qt.AlignmentFlag.AlignCenter, "predicted")
        p.save()
        p.translate(0, self._top + grid_w / 2)
        p.rotate(-90)
        p.drawText(QRect(-grid_w // 2, 0, grid_w, TITLE), Qt.AlignmentFlag.AlignCenter, "true")
        p.restore()
        p.setFont(self.font())
        for i, name in enumerate(self.classes):
            shown = metrics.elidedText(name, Qt.TextElideMode.ElideRight, LABEL_MAX)
            row = self.cell_rect(i, 0)
            p.drawText(QRect(TITLE, row.top(), self._left - TITLE - 6, self.cell),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, shown)
            col = self.cell_rect(0, i)
            if self._vertical_columns:
                p.save()
                p.translate(col.left(), self._top - 4)
                p.rotate(-90)
                p.drawText(QRect(0, 0, self._top - TITLE - 4, self.cell),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown)
                p.restore()
            else:
                p.drawText(QRect(col.left(), TITLE, self.cell, self._top - TITLE),
                           Qt.AlignmentFlag.AlignCenter, shown)

    # ---- interaction ------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.select(cell)
        self.cell_clicked.emit(*cell)

    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            cell = self.cell_at(event.pos())
            if cell is not None:
                QToolTip.showText(event.globalPos(), self.describe(*cell), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def describe(self, true: int, pred: int) -> str:
        count = int(self.matrix[true, pred])
        row = int(self.matrix[true].sum())
        share = f" ({count / row:.0%} of true {self.classes[true]})" if row else ""
        verdict = "correct" if true == pred else "mistaken for " + self.classes[pred]
        return f"true {self.classes[true]}, {verdict}: {count} sample(s){share}. Click to show them."
