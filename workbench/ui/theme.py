"""Canvas colours, derived from the application palette so dark mode follows the system."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QGuiApplication, QPalette

# one hue per catalog category; unknown (plugin) categories get a neutral grey
_CATEGORY_HUES = {
    "io": 210,
    "dense": 265,
    "conv": 190,
    "pool": 160,
    "norm": 45,
    "activation": 25,
    "regularisation": 330,
    "shape": 100,
    "padding": 115,
    "resample": 145,
    "merge": 290,
    "math": 60,
    "similarity": 345,
    "recurrent": 0,
    "sequence": 230,
    "audio": 130,
    "vision backbones": 175,
    "My blocks": 305,
}


@dataclass(frozen=True)
class Theme:
    dark: bool
    canvas: QColor
    grid: QColor
    node_fill: QColor
    node_border: QColor
    text: QColor
    muted: QColor
    selection: QColor
    edge: QColor
    error: QColor
    warning: QColor
    port: QColor
    label_fill: QColor

    def category(self, name: str) -> QColor:
        hue = _CATEGORY_HUES.get(name)
        if hue is None:
            return QColor.fromHsl(0, 0, 110 if self.dark else 170)
        return QColor.fromHsl(hue, 120, 95 if self.dark else 200)


def current_theme() -> Theme:
    app = QGuiApplication.instance()
    palette = app.palette() if app is not None else QPalette()
    window = palette.color(QPalette.ColorRole.Window)
    dark = window.lightness() < 128
    text = palette.color(QPalette.ColorRole.WindowText)
    if dark:
        return Theme(
            dark=True,
            canvas=QColor(38, 40, 44),
            grid=QColor(52, 55, 60),
            node_fill=QColor(58, 61, 67),
            node_border=QColor(95, 99, 106),
            text=text,
            muted=QColor(170, 174, 180),
            selection=palette.color(QPalette.ColorRole.Highlight).lighter(130),
            edge=QColor(150, 155, 165),
            error=QColor(235, 87, 87),
            warning=QColor(230, 165, 40),
            port=QColor(160, 200, 255),
            label_fill=QColor(38, 40, 44, 230),
        )
    return Theme(
        dark=False,
        canvas=QColor(246, 247, 249),
        grid=QColor(232, 234, 238),
        node_fill=QColor(255, 255, 255),
        node_border=QColor(170, 175, 185),
        text=QColor(30, 32, 36),
        muted=QColor(95, 100, 110),
        selection=palette.color(QPalette.ColorRole.Highlight),
        edge=QColor(120, 126, 138),
        error=QColor(210, 40, 40),
        warning=QColor(205, 130, 0),
        port=QColor(40, 110, 210),
        label_fill=QColor(246, 247, 249, 235),
    )
