"""The dashboard's live plots (pyqtgraph): loss per step (raw, faint, and smoothed), losses
per epoch, the val metric, and learning rate or samples/s per step. A run that validates
every N steps (eval_every) puts the loss and metric plots on the global step too: train
loss at each epoch's last step, validation points at their own steps.

Imported only when the dashboard is first shown: pyqtgraph takes about half a second to
import, which start-up must not pay. Points go into growable numpy buffers (series.py)
as events arrive; `refresh()` (called once per timer tick) hands one changed curve (or
the two small epoch curves) to `setData`. Per-step curves are plotted against the global step (increasing,
evenly spaced x) with peak downsampling and clip-to-view, so they stay fast at 10^6
points. `controls` (placed by the dashboard, next to its message line, where it costs
no height): the smoothing weight of the step loss (an exponential moving average,
recomputed in numpy when it changes), log y for the two loss plots, and which per-step
rate the fourth plot shows. The dock is short, so the plots carry titles, not axis labels.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QToolTip, QWidget

from workbench.ui.training.series import Series, Smoothed

__all__ = ["LivePlots", "RATES"]

BLUE = "#3b7dd8"
RAW_PEN = pg.mkPen(59, 125, 216, 70, width=1)  # the raw step loss, faint behind the smoothed one
STEP_PEN = pg.mkPen(BLUE, width=1)  # thin: long polylines draw fastest
TRAIN_PEN = pg.mkPen(BLUE, width=1.5)
ORANGE = "#e07b24"
VAL_PEN = pg.mkPen(ORANGE, width=1.5)
METRIC_PEN = pg.mkPen("#2e9e5b", width=1.5)
RATE_PEN = pg.mkPen("#8e44ad", width=1)
RATES = {"lr": "Learning rate", "speed": "Samples/s"}  # what the fourth plot can show
DEFAULT_SMOOTHING = 0.6
LOG_KEEP = np.log10([1.0, 2.0, 5.0])  # the log ticks that get labels
# at most this many plot redraws a second: each costs 5-15 ms of the UI thread (and, through
# the GIL, of the training thread); at 25 a second they were the whole of the p99 lateness
REDRAWS_PER_S = 4


class _LogAxis(pg.AxisItem):
    """In log mode, ticks a short plot can label: pyqtgraph labels every 1..9 multiple of
    each decade, which pile up in 100 pixels; this keeps 1, 2 and 5 (1 alone past two decades)."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        if ticks and ticks[-1][0] is None:
            keep = LOG_KEEP if maxVal - minVal < 2 else LOG_KEEP[:1]
            ticks[-1] = (None, [v for v in ticks[-1][1] if np.abs(keep - v % 1).min() < 1e-6])
        return ticks


def _loss_title(per: str) -> str:
    # colours in the title: a legend would cover the points
    return f"Loss per {per}: <span style='color:{BLUE}'>train</span> <span style='color:{ORANGE}'>val</span>"


def _plot(title: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background=None, axisItems={"left": _LogAxis("left")})
    widget.getPlotItem().setTitle(title, size="9pt")
    # no grid: it doubles the cost of a repaint (measured: ~15 ms -> ~7 ms per plot)
    widget.setMinimumHeight(120)
    return widget


def _per_step(plot: pg.PlotWidget, pen) -> pg.PlotDataItem:
    curve = plot.plot(pen=pen)
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    return curve


class LivePlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step_plot = _plot("Train loss per step")
        self.epoch_plot = _plot(_loss_title("epoch"))
        self.by_step = False  # the loss and metric plots' x: epochs, or steps (set_x_steps)
        self.metric_plot = _plot("Validation accuracy")
        self.rate_plot = _plot(RATES["lr"])
        self.step_loss = Series(4096)
        self.smoothed = Smoothed(self.step_loss, DEFAULT_SMOOTHING)
        self.lr = Series(4096)
        self.speed = Series(4096)
        self.train_loss = Series(64)
        self.val_loss = Series(64)
        self.metric_values = Series(64)
        self.step_curve = _per_step(self.step_plot, RAW_PEN)
        self.smooth_curve = _per_step(self.step_plot, STEP_PEN)
        self.step_plot.getPlotItem().enableAutoRange(x=False)  # x grows in steps (see _widen_steps)
        self.rate_plot.getPlotItem().enableAutoRange(x=False, y=False)  # from 0 up (see _raise_rate_top)
        self._rate_top = 0.0
        self.rate_plot.setXLink(self.step_plot)  # the same steps, scrolled together
        self._x_end = 0.0
        self.train_curve = self.epoch_plot.plot(pen=TRAIN_PEN, symbol="o", symbolSize=5)
        self.val_curve = self.epoch_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=5)
        self.metric_curve = self.metric_plot.plot(pen=METRIC_PEN, symbol="o", symbolSize=5)
        self.lr_curve = _per_step(self.rate_plot, RATE_PEN)
        self.speed_curve = _per_step(self.rate_plot, RATE_PEN)
        self.speed_curve.setVisible(False)
        self._curves = ((self.step_curve, self.step_loss), (self.smooth_curve, self.smoothed),
                        (self.train_curve, self.train_loss), (self.val_curve, self.val_loss),
                        (self.metric_curve, self.metric_values), (self.lr_curve, self.lr), (self.speed_curve, self.speed))
        self._names = ["loss", "smoothed", "train", "val", "accuracy", "lr", "samples/s"]  # what hovering says
        self._drawn = [0] * len(self._curves)
        self._plots = (self.step_plot, self.epoch_plot, self.metric_plot, self.rate_plot)
        self._plot_curves = ((0, 1), (2, 3), (4,), (5, 6))  # the curves of each plot widget
        # what one refresh may redraw: a per-step curve alone (setData of 10^6 points costs ~10 ms);
        # the raw and smoothed losses follow each other a tick apart. The epoch curves (a few
        # hundred points at most) are drawn on every refresh that finds them changed, so the
        # plots never lag the epoch table.
        self._groups = ((0,), (1,), (5, 6))
        self._epoch_curves = (2, 3, 4)
        self._next = 0
        self._last_redraw = 0.0
        self._build_controls()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        for widget, stretch in zip(self._plots, (2, 1, 1, 1)):
            row.addWidget(widget, stretch)
            widget.scene().sigMouseMoved.connect(lambda pos, plot=widget: self._hover(plot, pos))
        self.setLayout(row)

    def _build_controls(self) -> None:
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setObjectName("smoothing_slider")
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(round(DEFAULT_SMOOTHING * 100))
        self.smoothing.setFixedWidth(140)
        self.smoothing.setToolTip("Smoothing of the step loss (exponential moving average weight);\n"
                                  "the raw curve stays faint behind the smoothed one")
        self.smoothing_label = QLabel()
        self.smoothing.valueChanged.connect(self._smoothing_changed)
        self.log_y = QCheckBox("log y")
        self.log_y.setObjectName("log_y")
        self.log_y.setToolTip("Logarithmic y axis for the two loss plots")
        self.log_y.toggled.connect(self.set_log_y)
        self.rate_choice = QComboBox()
        self.rate_choice.setObjectName("rate_choice")
        for key, title in RATES.items():
            self.rate_choice.addItem(title, key)
        self.rate_choice.setToolTip("What the right-hand plot shows per step")
        self.rate_choice.currentIndexChanged.connect(lambda _i: self.show_rate(self.rate_choice.currentData()))
        self.controls = QWidget()
        self.controls.setObjectName("plot_controls")
        controls = QHBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing)
        controls.addWidget(self.smoothing_label)
        controls.addSpacing(16)
        controls.addWidget(self.log_y)
        controls.addSpacing(16)
        controls.addWidget(QLabel("Right plot"))
        controls.addWidget(self.rate_choice)
        self._smoothing_changed(self.smoothing.value())

    # ---- options -----------------------------------------------------------------------------
    def set_metric_name(self, name: str, log_y: bool = False) -> None:
        """Title the metric plot; `log_y` for a metric that spans decades (perplexity)."""
        self.metric_plot.getPlotItem().setTitle(name, size="9pt")
        self.metric_plot.setLogMode(x=False, y=log_y)
        self._names[4] = name.removeprefix("Validation ")

    def set_x_steps(self, on: bool) -> None:
        """Plot train and validation losses and the metric against the global step (eval_every)."""
        self.by_step = on
        self.epoch_plot.getPlotItem().setTitle(_loss_title("step" if on else "epoch"), size="9pt")

    def _smoothing_changed(self, value: int) -> None:
        self.smoothing_label.setText(f"{value / 100:.2f}")
        if self.smoothed.weight != value / 100:
            self.smoothed.set_weight(value / 100)
            self._drawn[1] = -1

    def set_log_y(self, on: bool) -> None:
        if self.log_y.isChecked() != on:
            self.log_y.setChecked(on)  # comes back here through toggled
            return
        for plot in (self.step_plot, self.epoch_plot):
            plot.setLogMode(x=False, y=on)

    def show_rate(self, key: str) -> None:
        """Show the learning rate ("lr") or samples/s ("speed") in the right-hand plot."""
        if self.rate_choice.currentData() != key:
            self.rate_choice.setCurrentIndex(self.rate_choice.findData(key))
            return
        for index, name in ((5, "lr"), (6, "speed")):
            self._curves[index][0].setVisible(name == key)
            self._drawn[index] = -1  # a hidden curve is not kept up to date
        self._rate_top = 0.0
        self.rate_plot.getPlotItem().setTitle(RATES[key], size="9pt")

    # ---- data --------------------------------------------------------------------------------
    def clear(self) -> None:
        for _curve, series in self._curves:
            if isinstance(series, Series):
                series.clear()
        self._drawn = [-1] * len(self._curves)
        self._x_end = self._rate_top = 0.0
        self.flush()

    def add_step(self, step: int, loss: float, lr: float | None = None, samples_per_s: float | None = None) -> None:
        self.step_loss.append(step, loss)
        self.lr.append(step, lr)
        self.speed.append(step, samples_per_s)

    def add_epoch(self, epoch: int, train_loss, val_loss, metric) -> None:
        self.add_train(epoch, train_loss)
        self.add_validation(epoch, val_loss, metric)

    def add_train(self, x: float, train_loss) -> None:
        """An epoch's train loss at `x` (the epoch, or its last step)."""
        self.train_loss.append(x, train_loss)

    def add_validation(self, x: float, val_loss, metric) -> None:
        """A validation at `x` (the epoch, or its global step)."""
        self.val_loss.append(x, val_loss)
        self.metric_values.append(x, metric)

    def refresh(self, force: bool = False) -> None:
        """Redraw at most one group of curves per call (the one waiting longest), and at
        most REDRAWS_PER_S a second unless `force`, so an epoch end does not repaint four
        plots in one frame and a tick at 10^6 points stays ~10 ms.

        The step plots' x range (linked) is widened by half again when the data reaches
        its end, not every frame, so their axes are not re-laid out 25 times a second."""
        self._draw_epoch_curves()
        now = time.monotonic()
        if not force and now - self._last_redraw < 1.0 / REDRAWS_PER_S:
            return
        self.smoothed.update()  # only the new points (vectorised), or all after a new weight
        groups = self._groups
        for turn in range(len(groups)):
            index = (self._next + turn) % len(groups)
            changed = [i for i in groups[index]
                       if self._curves[i][0].isVisible() and len(self._curves[i][1]) != self._drawn[i]]
            if changed:
                self._next = index + 1
                self._last_redraw = now
                for i in changed:
                    curve, series = self._curves[i]
                    if i in self._plot_curves[3]:
                        self._raise_rate_top(series.y[max(self._drawn[i], 0):])
                    curve.setData(series.x, series.y, connect="finite")
                    self._drawn[i] = len(series)
                if 0 in changed:
                    self._widen_steps()
                return

    def _draw_epoch_curves(self) -> None:
        changed = {self._plots[1] if i < 4 else self._plots[2] for i in self._epoch_curves
                   if len(self._curves[i][1]) != self._drawn[i]}
        for i in self._epoch_curves:
            curve, series = self._curves[i]
            if len(series) != self._drawn[i]:
                curve.setData(series.x, series.y, connect="finite")
                self._drawn[i] = len(series)
        for plot in changed:
            self._frame_points(plot)

    def _frame_points(self, plot: pg.PlotWidget) -> None:
        """Autorange, except around a single point, where pyqtgraph's zero-width range turns
        into an axis like -100...150: then one unit (epoch) or 5% either side of it."""
        group = self._plot_curves[self._plots.index(plot)]
        xs = np.concatenate([self._curves[i][1].x for i in group])
        ys = np.concatenate([self._curves[i][1].y for i in group])
        box = plot.getPlotItem().getViewBox()
        if box.state["logMode"][1]:  # the view's y is log10 of the data
            with np.errstate(divide="ignore", invalid="ignore"):
                ys = np.log10(ys)
        finite = np.isfinite(xs) & np.isfinite(ys)
        if len(np.unique(xs[finite])) > 1:
            box.enableAutoRange()
            return
        if not finite.any():
            return
        x, low, high = float(xs[finite][0]), float(ys[finite].min()), float(ys[finite].max())
        half_x = 0.5 if not self.by_step else max(1.0, abs(x) * 0.05)
        middle = (low + high) / 2
        half_y = max((high - low) * 0.6, abs(middle) * 0.1, 1e-3)
        plot.setXRange(x - half_x, x + half_x, padding=0)
        plot.setYRange(middle - half_y, middle + half_y, padding=0)

    def flush(self) -> None:
        """Draw everything now (a run ended)."""
        for _ in self._groups:
            self.refresh(force=True)

    # ---- hovering ------------------------------------------------------------------------------
    def readout(self, plot: pg.PlotWidget, x: float) -> str:
        """The point nearest to `x` on each visible curve of `plot`: what hovering shows. The
        heading is the nearest x of all; a curve whose point lies elsewhere (train losses at
        epoch ends among validations every N steps) says where."""
        group = self._plot_curves[self._plots.index(plot)]
        unit = "step" if plot in (self.step_plot, self.rate_plot) or self.by_step else "epoch"
        found = []  # (distance, x, text)
        for i in group:
            curve, series = self._curves[i]
            n = len(series)
            if not curve.isVisible() or n == 0:
                continue
            xs = series.x
            j = min(int(np.searchsorted(xs, x)), n - 1)
            if j > 0 and abs(xs[j - 1] - x) <= abs(xs[j] - x):
                j -= 1
            found.append((abs(xs[j] - x), xs[j], f"{self._names[i]} {series.y[j]:.4g}"))
        if not found:
            return ""
        near = min(found)[1]
        lines = [f"{unit} {near:g}"]
        lines += [text if at == near else f"{text} ({unit} {at:g})" for _d, at, text in found]
        return "\n".join(lines)

    def _hover(self, plot: pg.PlotWidget, pos) -> None:
        box = plot.getPlotItem().getViewBox()
        text = self.readout(plot, box.mapSceneToView(pos).x()) if box.sceneBoundingRect().contains(pos) else ""
        if text:
            QToolTip.showText(plot.mapToGlobal(plot.mapFromScene(pos)), text, plot)
        else:
            QToolTip.hideText()

    def _raise_rate_top(self, new) -> None:
        """Rates are read from zero; the range grows when a new point goes above it (the new
        points only are scanned, not the whole curve)."""
        top = float(np.nanmax(new)) if len(new) and np.isfinite(new).any() else 0.0
        if top > self._rate_top:
            self._rate_top = top
            self.rate_plot.setYRange(0, top * 1.15, padding=0)

    def _widen_steps(self) -> None:
        if len(self.step_loss) and self.step_loss.x[-1] > self._x_end:
            self._x_end = max(10.0, self.step_loss.x[-1] * 1.5)
            self.step_plot.setXRange(0, self._x_end, padding=0)
