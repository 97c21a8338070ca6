"""A waveform thumbnail for the Data dock that can be read: a short stretch of the signal
at a scale where its cycles show, over a small spectrogram of the whole clip.

A min/max envelope of a whole one-second clip squeezed into 120 pixels is a solid block
for any tone (each pixel column spans ~130 samples, i.e. several periods), so a sine, a
square wave and noise all look the same. The top band instead draws the first few
hundred samples as a line (about three samples per pixel, scaled to the clip's peak); the
bottom band is a log-magnitude spectrogram (time left to right, frequency bottom to top),
where a sine is one line, a square wave its odd harmonics and noise a wash.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF

__all__ = ["waveform_pixmap", "spectrogram"]

SAMPLES_PER_PIXEL = 3  # the top band's zoom: a 440 Hz tone at 16 kHz is ~12 pixels a cycle
DYNAMIC_RANGE_DB = 60.0
# a dark-to-bright ramp (dark blue, teal, yellow), so loud bins read at a glance
_RAMP = np.array([[20, 24, 60], [33, 120, 140], [120, 200, 90], [250, 230, 80]], dtype=np.float32)


def spectrogram(a: np.ndarray, columns: int) -> np.ndarray:
    """[bins, frames] magnitudes in dB (0 = the clip's loudest bin), about `columns` frames."""
    n_fft = int(2 ** np.clip(np.floor(np.log2(max(len(a) // 4, 16))), 4, 8))  # 16 .. 256
    hop = max(1, (len(a) - n_fft) // max(columns - 1, 1))
    starts = np.arange(0, max(len(a) - n_fft, 0) + 1, hop)
    frames = np.stack([a[s:s + n_fft] for s in starts]) * np.hanning(n_fft)
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T  # [bins, frames]
    db = 20 * np.log10(magnitude + 1e-9)
    return db - db.max()


def _spectrogram_image(a: np.ndarray, width: int, height: int) -> QImage:
    db = spectrogram(a, width)
    level = np.clip(1 + db / DYNAMIC_RANGE_DB, 0, 1)[::-1]  # low frequencies at the bottom
    rows = np.linspace(0, level.shape[0] - 1, height).round().astype(int)
    cols = np.linspace(0, level.shape[1] - 1, width).round().astype(int)
    level = level[rows][:, cols] * (len(_RAMP) - 1)
    low = np.floor(level).astype(int).clip(0, len(_RAMP) - 2)
    frac = (level - low)[..., None]
    rgb = np.ascontiguousarray((_RAMP[low] * (1 - frac) + _RAMP[low + 1] * frac).astype(np.uint8))
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def waveform_pixmap(wave, width: int, height: int) -> QPixmap:
    """A clip ([S] or [C, S]: the first channel): its first samples on top, its spectrogram below."""
    a = np.nan_to_num(np.asarray(wave, dtype=np.float32).reshape(-1, np.shape(wave)[-1])[0])
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    top = max(height * 2 // 5, 8)
    painter = QPainter(pixmap)
    mid = top / 2
    painter.setPen(QPen(QColor(0, 0, 0, 40), 1))
    painter.drawLine(0, int(mid), width, int(mid))
    if a.size >= 2:
        shown = a[: width * SAMPLES_PER_PIXEL]
        scale = (mid - 1) / (float(np.abs(a).max()) or 1.0)
        xs = np.arange(len(shown)) * (width - 1) / max(len(shown) - 1, 1)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(59, 125, 216), 1))
        painter.drawPolyline(QPolygonF([QPointF(float(x), float(mid - y * scale)) for x, y in zip(xs, shown)]))
        painter.drawImage(0, top + 1, _spectrogram_image(a, width, height - top - 1))
    painter.end()
    return pixmap
