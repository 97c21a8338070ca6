"""The Try-it dock's answer: top-k probabilities as bars (class names on the axis), the
regression value(s), or the decoded text; then which weights answered and, for an exported
file, whether its answer matches PyTorch's. Several inputs at once (files) get a chooser.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from workbench.ui.try_it.inputs import tip

__all__ = ["ResultsView"]

MAX_BARS = 32  # regression outputs wider than this are listed, not drawn
BAR_COLOR = "#3b82c4"
TOP_COLOR = "#e67e22"


class ResultsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.predictions: list = []
        self.chooser = QComboBox()
        self.chooser.setObjectName("try_it_result_source")
        self.chooser.setToolTip("Which input's answer to show")
        self.chooser.currentIndexChanged.connect(self._show_current)
        self.headline = QLabel()
        self.headline.setObjectName("try_it_headline")
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.PlainText)  # class names and file names are data
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.headline.setFont(font)
        self.plot = None  # the bar chart, built on first use: pyqtgraph is not imported at start-up
        self.plot_slot = QWidget()
        QVBoxLayout(self.plot_slot).setContentsMargins(0, 0, 0, 0)
        self.bars = None  # the pyqtgraph BarGraphItem drawn last
        self.text = QPlainTextEdit()
        self.text.setObjectName("try_it_text_output")
        self.text.setReadOnly(True)
        self.text.setMaximumHeight(90)
        self.weights = QLabel()
        self.weights.setObjectName("try_it_weights")
        self.weights.setWordWrap(True)
        self.weights.setTextFormat(Qt.TextFormat.PlainText)
        self.artifact = QLabel()
        self.artifact.setObjectName("try_it_artifact")
        self.artifact.setWordWrap(True)
        self.artifact.setTextFormat(Qt.TextFormat.RichText)  # the colour; every user string is escaped
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.chooser, self.headline, self.plot_slot, self.text, self.weights, self.artifact):
            layout.addWidget(widget)
        self.clear()

    def clear(self) -> None:
        self.predictions = []
        self.chooser.clear()
        self.chooser.hide()
        self.headline.setText("")
        self.text.hide()
        self.plot_slot.hide()
        self.weights.setText("")
        self.artifact.setText("")

    def show_outcome(self, outcome) -> None:
        self.predictions = list(outcome.predictions)
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for p in self.predictions:
            self.chooser.addItem(p.source)
        self.chooser.blockSignals(False)
        self.chooser.setVisible(len(self.predictions) > 1)
        profile = outcome.profile
        self.weights.setText(f"Weights: {outcome.weights_label}")
        self.weights.setToolTip(tip(profile.weights + (f"\n{profile.note}" if profile.note else "")))
        if profile.artifact:
            colour = "#1e8449" if outcome.agrees else "#c0392b"
            self.artifact.setText(f"Answered by {html.escape(profile.artifact)}<br><span style='color:{colour}'>"
                                  f"{'✔' if outcome.agrees else '✘'} {html.escape(outcome.agreement)}</span>")
        else:
            self.artifact.setText("")
        self._show_current()

    def current(self):
        index = max(0, self.chooser.currentIndex())
        return self.predictions[index] if index < len(self.predictions) else None

    def _show_current(self, _index: int = 0) -> None:
        p = self.current()
        self.plot_slot.hide()
        self.text.hide()
        if p is None:
            self.headline.setText("")
            return
        if p.kind == "classes" and p.top:
            name, prob = p.top[0]
            self.headline.setText(f"{p.source}: {name}  ({prob:.1%})")
            self._bars([n for n, _ in p.top], [v for _, v in p.top], (0.0, 1.0), "probability")
        elif p.kind == "values":
            shown = ", ".join(f"{v:.4g}" for v in p.values[:8]) + (" …" if len(p.values) > 8 else "")
            self.headline.setText(f"{p.source}: {shown}")
            if 1 < len(p.values) <= MAX_BARS:
                self._bars([str(i) for i in range(len(p.values))], p.values, None, "value")
        else:
            self.headline.setText(f"{p.source}:")
            self.text.setPlainText(p.text or "(nothing: the model ended the sequence at once)")
            self.text.show()

    def _chart(self):
        if self.plot is None:
            import pyqtgraph as pg

            self.plot = pg.PlotWidget()
            self.plot.setObjectName("try_it_chart")
            self.plot.setMenuEnabled(False)
            self.plot.setMouseEnabled(x=False, y=False)
            self.plot.hideButtons()
            self.plot.setMinimumHeight(120)
            self.plot.setMaximumHeight(180)
            self.plot_slot.layout().addWidget(self.plot)
        return self.plot

    def _bars(self, names: list[str], heights: list[float], y_range, label: str) -> None:
        import pyqtgraph as pg

        self._chart()
        if self.bars is not None:
            self.plot.removeItem(self.bars)
        brushes = [TOP_COLOR if i == 0 else BAR_COLOR for i in range(len(heights))] if y_range else None
        self.bars = pg.BarGraphItem(x=list(range(len(heights))), height=list(heights), width=0.7,
                                    brushes=brushes or [BAR_COLOR] * len(heights))
        self.plot.addItem(self.bars)
        axis = self.plot.getAxis("bottom")
        axis.setTicks([[(i, _short(n)) for i, n in enumerate(names)]])
        self.plot.setLabel("left", label)
        if y_range is not None:
            self.plot.setYRange(*y_range, padding=0.02)
        else:
            self.plot.enableAutoRange(axis="y")
        self.plot.setXRange(-0.6, len(heights) - 0.4, padding=0)
        self.plot_slot.show()


def _short(name: str, limit: int = 12) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
