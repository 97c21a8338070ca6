"""Images for the Try-it dock: files (picked, dropped or pasted), or a digit drawn with the mouse.

A small greyscale model (digits 8x8, MNIST 28x28) gets the drawing pad; every image model
gets the model's-eye view beside it: the preprocessed tensor the network really received,
with the saliency heat map laid over it when "Saliency" is on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from workbench.ui.try_it.drawing_pad import DrawingPad
from workbench.ui.try_it.inputs import InputWidget
from workbench.ui.try_it.saliency_view import ImageView

__all__ = ["ImageInput", "qimage_array", "PAD_MAX_SIDE"]

PAD_MAX_SIDE = 64  # 1-channel models up to this size get the drawing pad
VIEW_CAPTIONS = {False: "What the model sees", True: "What it sees; red: where it looked"}
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.pgm *.ppm);;All files (*)"


def qimage_array(image: QImage) -> np.ndarray:
    """A QImage as H x W x 3 uint8 RGB."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, line = rgb.height(), rgb.width(), rgb.bytesPerLine()
    data = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=rgb.sizeInBytes())
    return data.reshape(h, line)[:, : w * 3].reshape(h, w, 3).copy()


def local_files(mime) -> list[str]:
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []


class ImageInput(InputWidget):
    saliency_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.open_button = QPushButton("Open images…")
        self.open_button.setObjectName("try_it_open_images")
        self.open_button.clicked.connect(lambda _checked=False: self.pick())
        self.paste_button = QPushButton("Paste")
        self.paste_button.setObjectName("try_it_paste")
        self.paste_button.setToolTip("Use the picture (or image files) on the clipboard (Ctrl+V)")
        self.paste_button.clicked.connect(lambda _checked=False: self.paste())
        QShortcut(QKeySequence.StandardKey.Paste, self, self.paste,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.hint = QLabel("or drop image files here")
        self.hint.setStyleSheet("color: gray;")
        self.pad = DrawingPad()
        self.pad.drawn.connect(self._drawn)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("try_it_clear")
        self.clear_button.clicked.connect(lambda _checked=False: self.pad.clear())
        self.view = ImageView("What the model sees: the input after resizing and normalisation, one square per pixel")
        self.view.setObjectName("try_it_model_view")
        self.saliency = QCheckBox("Saliency")
        self.saliency.setObjectName("try_it_saliency")
        self.saliency.setToolTip("Overlay where the model looked (Grad-CAM on the last Conv2d, else input gradients)")
        self.saliency.toggled.connect(self._saliency_changed)
        self.pad_caption = QLabel("Draw a digit (white on black)")
        self.view_caption = QLabel(VIEW_CAPTIONS[False])
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.paste_button)
        buttons.addWidget(self.hint, 1)
        grid = QGridLayout()
        grid.addWidget(self.pad_caption, 0, 0)
        grid.addWidget(self.view_caption, 0, 1)
        grid.addWidget(self.pad, 1, 0)
        grid.addWidget(self.view, 1, 1)
        grid.addWidget(self.clear_button, 2, 0, Qt.AlignmentFlag.AlignLeft)
        grid.addWidget(self.saliency, 2, 1, Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addLayout(grid)

    def _saliency_changed(self, on: bool) -> None:
        self.view_caption.setText(VIEW_CAPTIONS[on])
        self.saliency_toggled.emit(on)

    def configure(self, profile) -> None:
        shape = profile.input_shape
        drawable = len(shape) == 3 and shape[0] == 1 and max(shape[1:]) <= PAD_MAX_SIDE
        for widget in (self.pad, self.pad_caption, self.clear_button):
            widget.setVisible(drawable)
        self.view.clear()

    # ---- where pictures come from -----------------------------------------------------
    def pick(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Image", "", IMAGE_FILTER)
        if path:
            self.open_files([path])

    def open_files(self, paths: list[str]) -> None:
        files = [str(Path(p)) for p in paths if p]
        if files:
            self.asked.emit("predict_files", (files,), {})

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and local_files(mime):
            self.open_files(local_files(mime))
        elif mime is not None and mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.asked.emit("predict_image_array", (qimage_array(image), "clipboard"), {})

    def _drawn(self) -> None:
        self.asked.emit("predict_image_array", (self.pad.array(), "drawing"), {})

    def dragEnterEvent(self, event) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.open_files(files)

    # ---- what the model saw -----------------------------------------------------------
    def show_prediction(self, prediction) -> None:
        if prediction.model_input is not None:
            self.view.show_tensor(prediction.model_input.numpy())

    def show_outcome(self, outcome) -> None:
        super().show_outcome(outcome)
        if outcome.saliency is not None:
            self.view.show_heat(outcome.saliency)
