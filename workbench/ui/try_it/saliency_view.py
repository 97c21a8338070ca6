"""The model's-eye view of an image, with the saliency heat map laid over it on demand.

The picture is the preprocessed tensor itself ([C, H, W] after resize and normalisation),
stretched to 0..255 and drawn with square pixels, so an 8x8 digit looks like the 64 numbers
the network really gets. The heat map (H x W in [0, 1], Grad-CAM or input gradients) is
drawn on top in translucent red-to-yellow: where the model looked for its answer.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from workbench.ui.try_it.drawing_pad import MAX_SIDE

__all__ = ["ImageView", "to_rgb8", "heat_rgba"]


def to_rgb8(tensor) -> np.ndarray:
    """[C, H, W] (C 1 or 3; any other C shows its first channel) or H x W -> H x W x 3 uint8."""
    a = np.asarray(tensor, dtype=np.float64)
    if a.ndim == 3:
        a = a.transpose(1, 2, 0) if a.shape[0] == 3 else a[0]
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    a = np.nan_to_num(a)
    low, high = float(a.min()), float(a.max())
    scaled = (a - low) / (high - low) if high > low else np.zeros_like(a)
    return np.ascontiguousarray((scaled * 255).round().astype(np.uint8))


def heat_rgba(heat) -> np.ndarray:
    """H x W in [0, 1] -> H x W x 4 uint8: transparent where cold, opaque red..yellow where hot."""
    h = np.clip(np.nan_to_num(np.asarray(heat, dtype=np.float64)), 0.0, 1.0)
    rgba = np.zeros((*h.shape, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (h * 230).astype(np.uint8)
    rgba[..., 3] = (h * 150).astype(np.uint8)
    return rgba


def _qimage(array: np.ndarray, fmt: QImage.Format) -> QImage:
    h, w, c = array.shape
    return QImage(array.data, w, h, w * c, fmt).copy()  # copy: the numpy buffer may go


class ImageView(QWidget):
    """A square showing one preprocessed image (and a heat map); empty until `show_tensor`."""

    def __init__(self, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(tip)
        self.setMinimumSize(112, 112)
        self.setMaximumSize(MAX_SIDE, MAX_SIDE)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._image: QImage | None = None
        self._heat: QImage | None = None
        self.shape: tuple[int, ...] = ()

    def sizeHint(self) -> QSize:
        return QSize(168, 168)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def show_tensor(self, tensor) -> None:
        rgb = to_rgb8(tensor)
        self.shape = tuple(np.asarray(tensor).shape)
        self._image = _qimage(rgb, QImage.Format.Format_RGB888)
        self._heat = None
        self.update()

    def show_heat(self, heat) -> None:
        """Overlay a heat map (None removes it)."""
        self._heat = None if heat is None else _qimage(heat_rgba(heat), QImage.Format.Format_RGBA8888)
        self.update()

    def has_heat(self) -> bool:
        return self._heat is not None

    def clear(self) -> None:
        self._image = self._heat = None
        self.shape = ()
        self.update()

    def _target(self) -> QRect:
        """The largest rectangle of the image's aspect that fits, centred."""
        iw, ih = (self._image.width(), self._image.height()) if self._image is not None else (1, 1)
        scale = min(self.width() / iw, self.height() / ih)
        w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        target = self._target()
        if self._image is None:
            painter.fillRect(target, self.palette().base())
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "model's-eye view")
        else:
            painter.drawImage(target, self._image)  # no smoothing: square pixels, as the model sees them
            if self._heat is not None:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(target, self._heat)
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawRect(target.adjusted(0, 0, -1, -1))
        painter.end()
