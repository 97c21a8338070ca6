"""A preview of a DataBundle in the Data dock: a few samples with their labels (images as
thumbnails, waveforms as their first samples over a small spectrogram, token sequences as text lines, features
as a table with the file's column names) and a class histogram (pyqtgraph bars, imported
on first use). A text corpus shows its first lines, its token count and vocabulary, the
first line cut into its tokens (alternating backgrounds mark the boundaries) and what
the source warned about.

Reading the samples can be slow (image and audio folders are read per item), so it is
split in two: `collect_preview` reads what is shown into a `PreviewData` of plain numpy
arrays and strings (the Data dock calls it on its check thread), and `DataPreview.show`
only draws that on the UI thread.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from workbench.data.samples import token_text
from workbench.ui.deferred import DrawWhenSeen

SAMPLES = 8
THUMB = 48
WAVE_SIZE = (120, 60)
TEXT_WIDTH = 260  # pixels of a text line before it is elided
TABLE_COLUMNS = 6
HIST_LIMIT = 5000  # items read for the histogram when the labels are not held as one tensor
CORPUS_PEEK = 4000  # tokens decoded for a corpus's first lines
CORPUS_LINES = 5
CORPUS_TOKENS = 60  # tokens of the first line shown
TOKEN_COLOURS = ("#dbe8fb", "#fbe6cf")
VISIBLE = {" ": "·", "\n": "⏎", "\t": "⇥", "\r": "␍"}  # whitespace inside a token, drawn


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


def waveform_pixmap(wave, width: int = WAVE_SIZE[0], height: int = WAVE_SIZE[1]) -> QPixmap:
    """A waveform's thumbnail: its first samples over its spectrogram (wave_thumb.py)."""
    from workbench.ui.settings_panels.wave_thumb import waveform_pixmap as draw

    return draw(wave, width, height)


def label_text(bundle, target) -> str:
    t = target.detach().cpu() if hasattr(target, "detach") else target
    if bundle.task == "classification" and bundle.classes:
        i = int(t)
        return str(bundle.classes[i]) if 0 <= i < len(bundle.classes) else str(i)
    values = np.asarray(t).reshape(-1)
    shown = " ".join(f"{v:.3g}" if isinstance(v, float) or values.dtype.kind == "f" else str(v) for v in values[:6])
    return shown + (" …" if values.size > 6 else "")


@dataclass
class PreviewData:
    """What the preview draws, read off the UI thread: plain arrays and strings."""

    note: str
    kind: str  # "images", "waveforms", "tokens" or "table"
    items: list = field(default_factory=list)  # (array | text | row of numbers, label) per sample
    columns: list[str] = field(default_factory=list)  # the table's feature columns
    classes: list[str] | None = None
    counts: np.ndarray | None = None  # training samples per class
    counted: int = 0  # how many training samples the counts cover
    total: int = 0  # training samples in all
    pieces: list[str] = field(default_factory=list)  # corpus: the first line's tokens, as text
    warnings: list[str] = field(default_factory=list)  # corpus: what the source warned about


def collect_preview(bundle, samples: int = SAMPLES) -> PreviewData:
    """Read the first `samples` training items and the class counts of a bundle."""
    extra = bundle.extra or {}
    if extra.get("tokenizer") is not None and "tokens_train" in extra:
        return _corpus_preview(bundle, extra["tokenizer"])
    modality = bundle.modality
    kind = modality if modality in ("images", "waveforms", "tokens") else "table"
    data = PreviewData(bundle.description or bundle.source, kind, classes=bundle.classes, total=len(bundle.train))
    rows = [bundle.train[i] for i in range(min(samples, len(bundle.train)))]
    if kind == "table":
        data.columns, rows_of_numbers = _table_rows(bundle, rows)
        data.items = [(values, label_text(bundle, target)) for values, (_inputs, target) in zip(rows_of_numbers, rows)]
    else:
        for inputs, target in rows:
            x = np.asarray(inputs[0].detach().cpu().numpy() if hasattr(inputs[0], "detach") else inputs[0])
            shown = token_text(x.reshape(-1).tolist(), bundle.extra or {}) if kind == "tokens" else x
            data.items.append((shown, label_text(bundle, target)))
    data.counts, data.counted = _class_counts(bundle)
    return data


def _corpus_preview(bundle, tokenizer) -> PreviewData:
    train, val = bundle.extra["tokens_train"], bundle.extra["tokens_val"]
    head = tokenizer.decode(np.asarray(train[:CORPUS_PEEK], dtype=np.int64).tolist())
    lines = [line for line in head.splitlines() if line.strip()][:CORPUS_LINES]
    ids = tokenizer.encode(lines[0])[:CORPUS_TOKENS] if lines else []
    note = (f"{len(train) + len(val):,} tokens ({len(train):,} training, {len(val):,} validation) · "
            f"vocabulary {tokenizer.vocab_size:,} ({tokenizer.kind}) · {len(bundle.train):,} training windows")
    return PreviewData(note, "corpus", items=lines, total=len(bundle.train), pieces=tokenizer.token_texts(ids),
                       warnings=list(bundle.extra.get("warnings") or []))


def token_html(pieces: list[str]) -> str:
    """Tokens side by side on alternating backgrounds, whitespace drawn, so every boundary shows."""
    spans = []
    for i, piece in enumerate(pieces):
        text = html.escape("".join(VISIBLE.get(c, c) for c in piece))
        spans.append(f'<span style="background-color:{TOKEN_COLOURS[i % 2]}; color:#202020">{text}</span>')
    return "".join(spans)


def _table_rows(bundle, rows) -> tuple[list[str], list[list[float]]]:
    """Feature rows as the file has them: a CSV source's standardisation is undone and its
    column names used; other sources show x0, x1, ..."""
    extra = bundle.extra or {}
    values = [np.asarray(inputs[0]).reshape(-1).astype(np.float64) for inputs, _target in rows]
    width = len(values[0]) if values else 0
    mean, std = extra.get("feature_mean"), extra.get("feature_std")
    if mean is not None and std is not None and len(mean) == width == len(std):
        values = [v * np.asarray(std) + np.asarray(mean) for v in values]
    names = list(extra.get("features") or [])
    if len(names) != width:
        names = [f"x{j}" for j in range(width)]
    return names[:TABLE_COLUMNS], [v[:TABLE_COLUMNS].tolist() for v in values]


def _class_counts(bundle) -> tuple[np.ndarray | None, int]:
    if bundle.task != "classification" or not bundle.classes:
        return None, 0
    if bundle.train_tensors is not None:
        y = bundle.train_tensors[1]
        labels = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y).reshape(-1)
    else:
        labels = _listed_labels(bundle.train)
        if labels is None:
            n = min(len(bundle.train), HIST_LIMIT)
            labels = np.array([int(bundle.train[i][1]) for i in range(n)])
    counts = np.bincount(labels.astype(np.int64), minlength=len(bundle.classes))
    return counts, int(counts.sum())


def _listed_labels(dataset) -> np.ndarray | None:
    """File sets keep (path, class) lists ("samples" for images, "files" for audio): their
    labels are known without reading a file."""
    for name in ("samples", "files"):
        listed = getattr(dataset, name, None)
        if isinstance(listed, list) and listed and isinstance(listed[0], tuple) and len(listed[0]) == 2:
            return np.array([label for _path, label in listed])
    return None


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
        self.token_pieces: list[str] = []  # a corpus's first line, token by token
        self.deferred = DrawWhenSeen(self, self._draw)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.addWidget(self.note)
        self.layout_.addWidget(self.grid_box)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.deferred.flush()

    def clear(self, note: str = "") -> None:
        self.deferred.discard()
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # gone now, not when deleteLater is processed
                item.widget().deleteLater()
        self.samples = []
        self.token_pieces = []
        self.counts = None
        self.note.setText(note)
        if self.histogram is not None:
            self.histogram.clear()
            self.histogram.hide()

    def show_preview(self, data: PreviewData) -> None:
        """Draw now if the preview is on screen, else when it is next shown: a Data dock in a
        background tab must not spend the UI thread's time (tens of ms) while a run trains."""
        self.deferred.submit(data)

    def _draw(self, data: PreviewData) -> None:
        self.clear(data.note)
        if data.kind == "table":
            self._table(data)
        elif data.kind == "corpus":
            self._corpus(data)
        else:
            columns = {"images": 4, "waveforms": 2, "tokens": 1}[data.kind]
            for i, (x, label) in enumerate(data.items):
                self.grid.addWidget(self._cell(data.kind, x, label), i // columns, i % columns)
                self.samples.append((data.kind, label))
        self._histogram(data)

    @staticmethod
    def _cell(kind: str, x, label: str) -> QWidget:
        """A thumbnail or waveform over its label; a text line after its label."""
        cell = QWidget()
        view = QLabel()
        caption = QLabel(label)
        if kind == "tokens":
            row = QHBoxLayout(cell)
            row.setContentsMargins(2, 1, 2, 1)
            caption.setText(f"<b>{label}</b>")
            caption.setMinimumWidth(40)
            view.setText(view.fontMetrics().elidedText(x, Qt.TextElideMode.ElideRight, TEXT_WIDTH))
            view.setToolTip(x)
            row.addWidget(caption)
            row.addWidget(view, 1)
            return cell
        if kind == "images" and x.ndim in (2, 3):
            view.setPixmap(QPixmap.fromImage(image_to_qimage(x)).scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
            view.setFixedSize(THUMB, THUMB)
        else:
            view.setPixmap(waveform_pixmap(x))
            view.setToolTip(f"{x.shape[-1]} samples, {float(x.min()):.2f} … {float(x.max()):.2f}")
        box = QVBoxLayout(cell)
        box.setContentsMargins(2, 2, 2, 2)
        box.setSpacing(1)
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(view, 0, Qt.AlignmentFlag.AlignHCenter)
        box.addWidget(caption)
        return cell

    def _corpus(self, data: PreviewData) -> None:
        row = 0
        for line in data.items:
            view = QLabel()
            view.setTextFormat(Qt.TextFormat.PlainText)
            view.setText(view.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, 2 * TEXT_WIDTH))
            view.setToolTip(line)
            self.grid.addWidget(view, row, 0)
            self.samples.append(("corpus", line))
            row += 1
        if data.pieces:
            caption = QLabel(f"The first line as {len(data.pieces)} tokens:")
            tokens = QLabel(token_html(data.pieces))
            tokens.setObjectName("corpus_tokens")
            tokens.setTextFormat(Qt.TextFormat.RichText)
            tokens.setWordWrap(True)
            self.grid.addWidget(caption, row, 0)
            self.grid.addWidget(tokens, row + 1, 0)
            self.token_pieces = list(data.pieces)
            row += 2
        for warning in data.warnings:
            note = QLabel(f"⚠ {warning}")
            note.setWordWrap(True)
            note.setStyleSheet("color: #b36b00;")
            self.grid.addWidget(note, row, 0)
            row += 1

    def _table(self, data: PreviewData) -> None:
        table = QTableWidget(len(data.items), len(data.columns) + 1)
        table.setObjectName("data_preview_table")
        table.setHorizontalHeaderLabels([*data.columns, "label"])
        table.verticalHeader().setVisible(False)
        for r, (values, label) in enumerate(data.items):
            for j, value in enumerate(values):
                table.setItem(r, j, QTableWidgetItem(f"{value:.4g}"))
            table.setItem(r, len(values), QTableWidgetItem(label))
            self.samples.append(("features", label))
        table.resizeColumnsToContents()
        table.setMaximumHeight(28 + 24 * len(data.items))
        self.grid.addWidget(table, 0, 0)

    def _histogram(self, data: PreviewData) -> None:
        self.counts = data.counts
        if self.counts is None:
            return
        import pyqtgraph as pg

        if self.histogram is None:
            self.histogram = pg.PlotWidget(background=None)  # the dock's own, like the training plots
            self.histogram.setObjectName("class_histogram")
            self.histogram.setMaximumHeight(170)
            self.histogram.setMinimumHeight(120)
            self.histogram.setMouseEnabled(False, False)
            self.histogram.setMenuEnabled(False)
            self.layout_.addWidget(self.histogram)
        x = np.arange(len(self.counts))
        self.histogram.clear()
        self.histogram.addItem(pg.BarGraphItem(x=x, height=self.counts, width=0.8, brush="#5b8bd0"))
        names = [str(c) for c in data.classes]
        self.histogram.getAxis("bottom").setTicks([list(zip(x.tolist(), names))] if len(names) <= 20 else None)
        of = f"the first {data.counted} of {data.total}" if data.counted < data.total else str(data.counted)
        self.histogram.setTitle(f"{len(names)} classes · {of} training samples", size="8pt")
        self.histogram.show()
