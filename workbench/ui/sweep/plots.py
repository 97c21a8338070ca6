"""The Sweep dock's pictures of a study (pyqtgraph): best so far, importances, parallel
coordinates and a slice per parameter. Each `show(rows, ...)` redraws from TrialRows
(workbench.search.report), a handful to a few hundred trials: plain items, no buffers."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QTabWidget, QVBoxLayout, QWidget

__all__ = ["StudyPlots", "best_so_far", "normalised"]

FINISHED = ("complete", "pruned")


def best_so_far(rows, maximize: bool) -> tuple[list[int], list[float]]:
    """(trial numbers, the best completed value up to each) in trial order."""
    xs, ys, best = [], [], None
    for row in sorted(rows, key=lambda r: r.number):
        if row.state != "complete" or not _finite(row.value):
            continue
        best = row.value if best is None else (max(best, row.value) if maximize else min(best, row.value))
        xs.append(row.number)
        ys.append(best)
    return xs, ys


def normalised(values: list, log: bool = False) -> tuple[list[float], list[str]]:
    """Values on a 0..1 axis (on a log scale with `log`; categories evenly spaced) and the
    tick labels of the ends."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and values:
        low, high = min(values), max(values)
        log = log and low > 0
        f = math.log10 if log else float
        span = (f(high) - f(low)) or 1
        return [(f(v) - f(low)) / span for v in values], [f"{low:.3g}", f"{high:.3g}"]
    levels = sorted({repr(v): v for v in values}.items())
    where = {key: i / max(1, len(levels) - 1) for i, (key, _) in enumerate(levels)}
    return [where[repr(v)] for v in values], [str(levels[0][1]) if levels else "", str(levels[-1][1]) if levels else ""]


class StudyPlots(QTabWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sweep_plots")
        self.best = pg.PlotWidget(labels={"bottom": "trial", "left": "best value"})
        self.best_curve = self.best.plot([], [], pen=pg.mkPen("#3a7bd5", width=2), symbol="o", symbolSize=5)
        self.done = self.best.plot([], [], pen=None, symbol="x", symbolSize=6, symbolPen="#999")
        self.importance = pg.PlotWidget(labels={"bottom": "importance (PED-ANOVA)"})
        self.parallel = pg.PlotWidget()
        self.parallel.hideAxis("left")
        self.parallel.hideAxis("bottom")
        slice_page = QWidget()
        self.slice_param = QComboBox(objectName="slice_param")
        self.slice = pg.PlotWidget(labels={"left": "value"})
        layout = QVBoxLayout(slice_page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slice_param)
        layout.addWidget(self.slice)
        for plot in (self.best, self.importance, self.slice):
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)  # 0.82, not 820 (x0.001)
        for widget, title in ((self.best, "Best so far"), (self.importance, "Importances"),
                              (self.parallel, "Parallel coordinates"), (slice_page, "Slice")):
            self.addTab(widget, title)
        self.rows, self.maximize, self.log_keys = [], True, set()
        self.slice_param.currentTextChanged.connect(lambda _t: self._draw_slice())

    def show(self, rows, maximize: bool, importances: dict[str, float], log_keys=()) -> None:  # noqa: A003
        """Redraw from `rows`; `log_keys`: the dimensions searched on a log scale (drawn so)."""
        self.rows, self.maximize, self.log_keys = list(rows), maximize, set(log_keys)
        xs, ys = best_so_far(rows, maximize)
        last = max((r.number for r in rows), default=None)
        if xs and last is not None and last > xs[-1]:  # the best holds until the latest trial
            xs, ys = xs + [last], ys + [ys[-1]]
        self.best_curve.setData(xs, ys)
        done = [r for r in rows if r.state in FINISHED and _finite(r.value)]
        self.done.setData([r.number for r in done], [r.value for r in done])
        self._draw_importances(importances)
        self._draw_parallel()
        names = sorted({k for r in rows for k in r.params})
        if names != [self.slice_param.itemText(i) for i in range(self.slice_param.count())]:
            current = self.slice_param.currentText()
            self.slice_param.blockSignals(True)
            self.slice_param.clear()
            self.slice_param.addItems(names)
            if current in names:
                self.slice_param.setCurrentText(current)
            self.slice_param.blockSignals(False)
        self._draw_slice()

    def _draw_importances(self, importances: dict[str, float]) -> None:
        plot = self.importance
        plot.clear()
        names = list(importances)
        if names:
            plot.addItem(pg.BarGraphItem(x0=0, y=list(range(len(names))), height=0.6,
                                         width=[importances[n] for n in names], brush="#3a7bd5"))
        plot.getAxis("left").setTicks([[(i, n) for i, n in enumerate(names)]])

    def _draw_parallel(self) -> None:
        plot = self.parallel
        plot.clear()
        done = [r for r in self.rows if r.state in FINISHED and _finite(r.value)]
        names = sorted({k for r in done for k in r.params})
        if not done or not names:
            return
        axes = [normalised([r.params.get(n) for r in done], n in self.log_keys) for n in names]
        values, ends = normalised([r.value for r in done])
        axes.append((values, ends))
        labels = [n.rsplit(".", 1)[-1] for n in names] + ["value"]
        for i, (label, (_, (low, high))) in enumerate(zip(labels, axes)):
            plot.plot([i, i], [0, 1], pen=pg.mkPen("#888"))
            for y, text in ((1.12, label), (-0.05, low), (1.04, high)):
                item = pg.TextItem(text, color="#555", anchor=(0.5, 0 if y < 0 else 1))
                item.setPos(i, y)
                plot.addItem(item)
        plot.setYRange(-0.15, 1.15, padding=0)
        plot.setXRange(-0.3, len(axes) - 0.7, padding=0)
        for j, row in enumerate(done):
            good = values[j] if self.maximize else 1 - values[j]
            colour = pg.mkColor(int(220 * (1 - good)), int(90 + 120 * good), int(200 * good))
            plot.plot(list(range(len(axes))), [axis[0][j] for axis in axes], pen=pg.mkPen(colour, width=1.5))

    def _draw_slice(self) -> None:
        plot, name = self.slice, self.slice_param.currentText()
        plot.clear()
        done = [r for r in self.rows if r.state in FINISHED and _finite(r.value) and name in r.params]
        if not done:
            return
        raw = [r.params[name] for r in done]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw)
        if numeric:
            xs, ticks = raw, None
        else:
            levels = sorted({repr(v) for v in raw})
            xs, ticks = [levels.index(repr(v)) for v in raw], [list(enumerate(levels))]
        plot.getAxis("bottom").setTicks(ticks)
        plot.setLogMode(x=numeric and name in self.log_keys and min(raw) > 0, y=False)
        plot.setLabel("bottom", name)
        plot.plot(xs, [r.value for r in done], pen=None, symbol="o", symbolSize=7, symbolBrush="#3a7bd5")


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
