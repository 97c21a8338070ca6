"""The Runs dock's plot: one metric of several runs per epoch, one fixed colour per run.

Imported when the plot is first needed (pyqtgraph takes about half a second to import).
Curves take NaN where a run lacks the metric, so a gap shows instead of a false line. The
PNG export draws the same curves again off screen at a printable size, since the docked
plot is often a thin strip.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import Qt

__all__ = ["PALETTE", "EXPORT_SIZE", "plot_widget", "draw_runs", "export_png"]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")  # Tableau 10: distinct, and readable on light and dark backgrounds
EXPORT_SIZE = (1200, 700)


def plot_widget(background=None) -> pg.PlotWidget:
    widget = pg.PlotWidget(background=background)
    item = widget.getPlotItem()
    item.setLabel("bottom", "epoch")
    legend = item.addLegend(offset=(-5, 5), labelTextSize="8pt", verSpacing=-6)
    legend.setBrush(pg.mkBrush(255, 255, 255, 200) if background == "w" else None)
    return widget


def draw_runs(item: pg.PlotItem, title: str, key: str | None, runs: list[tuple[str, list[dict]]]) -> list:
    """Replace what `item` shows by `key` of each (name, epoch rows) run; the curves, in `runs` order."""
    item.clear()
    item.setTitle(title, size="9pt")
    item.legend.setColumnCount(1 if len(runs) <= 3 else 2)
    curves = []
    for index, (name, rows) in enumerate(runs if key else ()):
        colour = PALETTE[index % len(PALETTE)]
        x = [row["epoch"] for row in rows]
        y = [_number(row.get(key)) for row in rows]
        curves.append(item.plot(x, y, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5, symbolBrush=colour,
                                symbolPen=None, name=name, connect="finite"))
    return curves


def export_png(target: Path, title: str, key: str, runs: list[tuple[str, list[dict]]]) -> None:
    widget = plot_widget(background="w")
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.resize(*EXPORT_SIZE)
    widget.show()  # laid out as on screen, never painted there
    try:
        draw_runs(widget.getPlotItem(), title, key, runs)
        widget.getPlotItem().layout.activate()  # the title's row, before it is drawn
        exporter = ImageExporter(widget.getPlotItem())
        exporter.parameters()["width"] = EXPORT_SIZE[0]
        exporter.export(str(target))
    finally:
        widget.close()
        widget.deleteLater()


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
