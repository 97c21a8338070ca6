"""The dashboard's live plots (pyqtgraph): loss per step, losses per epoch, the val metric.

Imported only when the dashboard is first shown: pyqtgraph takes about half a second to
import, which start-up must not pay. Points go into growable numpy buffers (series.py)
as events arrive; `refresh()` (called once per timer tick) hands each changed curve to
`setData` once. The step curve is plotted against the global step (increasing, evenly
spaced x) with peak downsampling and clip-to-view, so it stays fast at 10^6 points.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from workbench.ui.training.series import Series

__all__ = ["LivePlots"]

STEP_PEN = pg.mkPen("#3b7dd8", width=1)  # thin: long polylines draw fastest
TRAIN_PEN = pg.mkPen("#3b7dd8", width=1.5)
VAL_PEN = pg.mkPen("#e07b24", width=1.5)
METRIC_PEN = pg.mkPen("#2e9e5b", width=1.5)


def _plot(title: str, x_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background=None)
    item = widget.getPlotItem()
    item.setTitle(title, size="9pt")
    item.setLabel("bottom", x_label)
    # no grid: it doubles the cost of a repaint (measured: ~15 ms -> ~7 ms per plot)
    widget.setMinimumHeight(140)
    return widget


class LivePlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step_plot = _plot("Train loss per step", "step")
        self.epoch_plot = _plot("Loss per epoch", "epoch")
        self.metric_plot = _plot("Validation accuracy", "epoch")
        self.epoch_plot.getPlotItem().addLegend(offset=(-5, 5))
        self.step_loss = Series(4096)
        self.train_loss = Series(64)
        self.val_loss = Series(64)
        self.metric = Series(64)
        self.step_curve = self.step_plot.plot(pen=STEP_PEN)
        self.step_curve.setDownsampling(auto=True, method="peak")
        self.step_curve.setClipToView(True)
        self.step_plot.getPlotItem().enableAutoRange(x=False)  # x grows in steps (see refresh)
        self._x_end = 0.0
        self.train_curve = self.epoch_plot.plot(pen=TRAIN_PEN, symbol="o", symbolSize=5, name="train")
        self.val_curve = self.epoch_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=5, name="val")
        self.metric_curve = self.metric_plot.plot(pen=METRIC_PEN, symbol="o", symbolSize=5)
        self._curves = ((self.step_curve, self.step_loss), (self.train_curve, self.train_loss),
                        (self.val_curve, self.val_loss), (self.metric_curve, self.metric))
        self._drawn = [0] * len(self._curves)
        self._groups = ((0,), (1, 2), (3,))  # the curves of each plot widget
        self._next = 0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.step_plot, self.epoch_plot, self.metric_plot):
            layout.addWidget(widget, 1)

    def set_metric_name(self, name: str) -> None:
        self.metric_plot.getPlotItem().setTitle(name, size="9pt")

    def clear(self) -> None:
        for _curve, series in self._curves:
            series.clear()
        self._drawn = [-1] * len(self._curves)
        self._x_end = 0.0
        self.flush()

    def add_step(self, step: int, loss: float) -> None:
        self.step_loss.append(step, loss)

    def add_epoch(self, epoch: int, train_loss, val_loss, metric) -> None:
        self.train_loss.append(epoch, train_loss)
        self.val_loss.append(epoch, val_loss)
        self.metric.append(epoch, metric)

    def refresh(self) -> None:
        """Redraw at most one plot per call (the one waiting longest), with one setData per
        changed curve, so an epoch end does not repaint three plots in one frame.

        The step plot's x range is widened by half again when the data reaches its end,
        not every frame, so its axis is not re-laid out 25 times a second."""
        groups = self._groups
        for turn in range(len(groups)):
            index = (self._next + turn) % len(groups)
            changed = [i for i in groups[index] if len(self._curves[i][1]) != self._drawn[i]]
            if changed:
                self._next = index + 1
                for i in changed:
                    curve, series = self._curves[i]
                    curve.setData(series.x, series.y, connect="finite")
                    self._drawn[i] = len(series)
                if index == 0:
                    self._widen_steps()
                return

    def flush(self) -> None:
        """Draw everything now (a run ended)."""
        for _ in self._groups:
            self.refresh()

    def _widen_steps(self) -> None:
        if len(self.step_loss) and self.step_loss.x[-1] > self._x_end:
            self._x_end = max(10.0, self.step_loss.x[-1] * 1.5)
            self.step_plot.setXRange(0, self._x_end, padding=0)
