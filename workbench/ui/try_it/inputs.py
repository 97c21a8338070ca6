"""The Try-it dock's input widgets for audio, text and table rows (images: image_input.py).

Each one turns what the user gave into a call on the Predictor, `asked(method, args,
kwargs)`, and shows what came back where it belongs to the input (the waveform and the
spectrogram the model hears). They never run the model themselves.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

__all__ = ["InputWidget", "AudioInput", "TextInput", "TabularInput", "player_available", "tip"]

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg);;All files (*)"


def tip(text: str) -> str:
    """A tooltip showing `text` as written: Qt renders a tooltip that looks like HTML as HTML,
    and column names, class names and paths are the user's."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>" if text else ""


def player_available() -> bool:
    """Whether QtMultimedia can be imported (PySide6-Essentials ships without it)."""
    try:
        import PySide6.QtMultimedia  # noqa: F401
    except ImportError:
        return False
    return True


class InputWidget(QWidget):
    asked = Signal(str, object, object)  # Predictor method, args, kwargs

    def configure(self, profile) -> None:
        """Adapt to the opened model (columns, sizes, seq2seq)."""

    def show_outcome(self, outcome) -> None:
        """Show what belongs beside the input: the first answer's model input, and extras."""
        if outcome.predictions:
            self.show_prediction(outcome.predictions[0])

    def show_prediction(self, prediction) -> None:
        """Show the input as the model got it (one answer of several)."""


class AudioInput(InputWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self.open_button = QPushButton("Open audio file…")
        self.open_button.setObjectName("try_it_open_audio")
        self.open_button.clicked.connect(lambda _checked=False: self.pick())
        self.play_button = QPushButton("Play")
        self.play_button.setObjectName("try_it_play")
        self.play_button.setEnabled(False)
        self.play_button.setVisible(player_available())
        self.play_button.clicked.connect(lambda _checked=False: self.play())
        self._player = None
        self.file_label = QLabel("WAV (or FLAC/OGG with soundfile), resampled and cut as in training")
        self.file_label.setWordWrap(True)
        self.file_label.setTextFormat(Qt.TextFormat.PlainText)
        self.waveform = self.spectrogram = None  # plots built when first shown: no pyqtgraph at start-up
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.play_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.file_label)

    def _plots(self) -> None:
        if self.waveform is not None:
            return
        import pyqtgraph as pg

        self.waveform = pg.PlotWidget(title="waveform the model gets")
        self.waveform.setObjectName("try_it_waveform")
        self.waveform.setMinimumHeight(90)
        self.waveform.setMaximumHeight(140)
        self.waveform.setMouseEnabled(x=False, y=False)
        self.wave_curve = self.waveform.plot(pen=pg.mkPen("#3b82c4"))
        self.spectrogram = pg.PlotWidget(title="mel spectrogram (dB)")
        self.spectrogram.setObjectName("try_it_spectrogram")
        self.spectrogram.setMinimumHeight(110)
        self.spectrogram.setMaximumHeight(180)
        self.spectrogram.setMouseEnabled(x=False, y=False)
        self.spectrogram_image = pg.ImageItem(axisOrder="row-major")
        self.spectrogram_image.setColorMap(pg.colormap.get("viridis"))
        self.spectrogram.addItem(self.spectrogram_image)
        self.spectrogram.hide()
        self.layout().addWidget(self.waveform)
        self.layout().addWidget(self.spectrogram)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._plots()

    def pick(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Audio file", "", AUDIO_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> None:
        self.path = path
        self.file_label.setText(path)
        self.play_button.setEnabled(True)
        self.asked.emit("predict_files", ([path],), {})

    def play(self) -> None:
        if not self.path or not player_available():
            return
        from PySide6.QtCore import QUrl
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        if self._player is None:
            self._player = QMediaPlayer(self)
            self._player.setAudioOutput(QAudioOutput(self._player))
        self._player.setSource(QUrl.fromLocalFile(self.path))
        self._player.play()

    def show_prediction(self, prediction) -> None:
        x = prediction.model_input
        self._plots()
        if x is not None:
            self.wave_curve.setData(x.reshape(-1, x.shape[-1])[0].numpy())

    def show_outcome(self, outcome) -> None:
        super().show_outcome(outcome)
        self._plots()
        if outcome.spectrogram is not None:
            self.spectrogram_image.setImage(outcome.spectrogram[::-1], autoLevels=True)
            self.spectrogram.show()
        else:
            self.spectrogram.hide()


class TextInput(InputWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seq2seq = False
        self.box = QPlainTextEdit()
        self.box.setObjectName("try_it_text")
        self.box.setMaximumHeight(90)
        self.decoding = QComboBox()
        self.decoding.setObjectName("try_it_decoding")
        self.decoding.addItem("greedy", 1)
        self.decoding.addItem("beam search (4)", 4)
        self.decoding.setToolTip("Greedy takes the likeliest token each step; beam search keeps the 4 best sequences")
        self.max_len = QSpinBox()
        self.max_len.setRange(1, 4096)
        self.max_len.setToolTip("Longest output, in tokens (decoding also stops at the end token)")
        self.decode_row = QWidget()
        row = QHBoxLayout(self.decode_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Decoding"))
        row.addWidget(self.decoding, 1)
        row.addWidget(QLabel("Max length"))
        row.addWidget(self.max_len)
        self.predict_button = QPushButton("Predict")
        self.predict_button.setObjectName("try_it_predict_text")
        self.predict_button.setToolTip("Run the model on the text (Ctrl+Return)")
        self.predict_button.clicked.connect(lambda _checked=False: self.submit())
        QShortcut(QKeySequence("Ctrl+Return"), self.box, self.submit, context=Qt.ShortcutContext.WidgetShortcut)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box)
        layout.addWidget(self.decode_row)
        layout.addWidget(self.predict_button, 0, Qt.AlignmentFlag.AlignRight)

    def configure(self, profile) -> None:
        self.seq2seq = profile.modality == "seq2seq"
        self.decode_row.setVisible(self.seq2seq)
        shape = profile.input_shapes[-1] if profile.input_shapes else ()
        if self.seq2seq and len(shape) == 1:  # the decoder's window bounds the output
            self.max_len.setRange(1, max(1, shape[0]))
            self.max_len.setValue(shape[0])
        self.box.setPlaceholderText("Token ids separated by spaces, e.g. 5 12 7" if profile.reads_ids
                                    else "Type a sentence…")

    def submit(self) -> None:
        text = self.box.toPlainText().strip()
        if not text:
            return
        if self.seq2seq:
            self.asked.emit("decode", (text,), {"beam": self.decoding.currentData(), "max_len": self.max_len.value()})
        else:
            self.asked.emit("predict_text", (text,), {})


class TabularInput(InputWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, QDoubleSpinBox] = {}
        self.form = QFormLayout()
        self.hint = QLabel("One row of the table; the grey range beside each field is what training saw.")
        self.hint.setWordWrap(True)
        self.predict_button = QPushButton("Predict")
        self.predict_button.setObjectName("try_it_predict_row")
        self.predict_button.clicked.connect(lambda _checked=False: self.submit())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addLayout(self.form)
        layout.addWidget(self.predict_button, 0, Qt.AlignmentFlag.AlignRight)

    def configure(self, profile) -> None:
        if [name for name, _, _ in profile.columns] == list(self.fields):
            return
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        for name, low, high in profile.columns:
            box = QDoubleSpinBox()
            box.setObjectName(f"try_it_column_{name}")
            box.setDecimals(4)
            box.setRange(-1e12, 1e12)
            box.setValue((low + high) / 2)
            box.setToolTip(tip(f"{name}: training values ran from {low:.4g} to {high:.4g}"))
            hint = QLabel(f"{low:.4g} … {high:.4g}")
            hint.setStyleSheet("color: gray;")
            row = QHBoxLayout()
            row.addWidget(box, 1)
            row.addWidget(hint)
            label = QLabel(name)
            label.setTextFormat(Qt.TextFormat.PlainText)  # a column name is the CSV's
            self.form.addRow(label, row)
            self.fields[name] = box

    def row(self) -> dict[str, float]:
        return {name: box.value() for name, box in self.fields.items()}

    def submit(self) -> None:
        if self.fields:
            self.asked.emit("predict_rows", ([self.row()],), {})
