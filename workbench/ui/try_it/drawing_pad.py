"""A square to sketch a digit on with the mouse: white ink on black, as digits and MNIST are.

The pen is thick (a tenth of the side) so that a stroke survives the shrink to 8x8 or
28x28. `array()` hands the drawing to `Predictor.predict_image_array`, which resizes and
normalises it exactly as the training images were; `drawn` fires when a stroke ends.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["DrawingPad"]

MAX_SIDE = 180  # on screen: room for the answer below it in a dock of the default window
SIDE = 280  # pixels of the drawing itself; the widget scales it to its size


class DrawingPad(QWidget):
    drawn = Signal()  # a stroke ended

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("try_it_pad")
        self.setToolTip("Draw with the mouse; the model answers when you let go")
        self.setMinimumSize(112, 112)
        self.setMaximumSize(MAX_SIDE, MAX_SIDE)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._image = QImage(SIDE, SIDE, QImage.Format.Format_Grayscale8)
        self._last: QPointF | None = None
        self.clear()

    def sizeHint(self) -> QSize:
        return QSize(168, 168)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def clear(self) -> None:
        self._image.fill(0)
        self._strokes = 0
        self.update()

    def is_empty(self) -> bool:
        return self._strokes == 0

    def array(self) -> np.ndarray:
        """The drawing as H x W uint8 (0 black .. 255 ink)."""
        ptr = self._image.constBits()
        rows = np.frombuffer(ptr, dtype=np.uint8, count=self._image.sizeInBytes())
        return rows.reshape(SIDE, self._image.bytesPerLine())[:, :SIDE].copy()

    # ---- drawing ----------------------------------------------------------------------
    def _to_image(self, pos: QPointF) -> QPointF:
        side = self._side()
        x0, y0 = (self.width() - side) / 2, (self.height() - side) / 2
        return QPointF((pos.x() - x0) * SIDE / side, (pos.y() - y0) * SIDE / side)

    def _side(self) -> int:
        return max(1, min(self.width(), self.height()))

    def _stroke(self, a: QPointF, b: QPointF) -> None:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(Qt.GlobalColor.white, SIDE / 10, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                   Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.drawLine(a, b)
        painter.end()
        self.update()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = self._to_image(event.position())
            self._stroke(self._last, self._last)
            self._strokes += 1

    def mouseMoveEvent(self, event) -> None:
        if self._last is not None:
            point = self._to_image(event.position())
            self._stroke(self._last, point)
            self._last = point

    def mouseReleaseEvent(self, event) -> None:
        if self._last is not None and event.button() == Qt.MouseButton.LeftButton:
            self._stroke(self._last, self._to_image(event.position()))
            self._last = None
            self.drawn.emit()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        side = self._side()
        x0, y0 = (self.width() - side) // 2, (self.height() - side) // 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRect(x0, y0, side, side), self._image)
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawRect(x0, y0, side - 1, side - 1)
        painter.end()
