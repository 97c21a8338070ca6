"""Drawing only what can be seen: the latest content for a view in a background dock tab
waits until the tab is brought forward.

A dock behind another tab is still `isVisible()` to Qt, so "on screen" means its dock has
a non-empty visible region (the dock's, not the widget's: a widget scrolled out of view
in a dock on screen still draws, or scrolling would show it stale). While a run trains,
every millisecond the UI thread spends drawing a view nobody can see is taken from the
event loop's latency budget and, through the GIL, from the training thread.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QDockWidget, QWidget

__all__ = ["on_screen", "DrawWhenSeen"]


def on_screen(widget: QWidget) -> bool:
    dock = enclosing_dock(widget)
    return widget.isVisible() and (dock is None or not dock.visibleRegion().isEmpty())


def enclosing_dock(widget: QWidget) -> QDockWidget | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


class DrawWhenSeen:
    """`submit(item)` draws at once when `widget` is on screen, else keeps only the latest
    item and draws it when the widget's dock becomes visible (or the widget is shown)."""

    def __init__(self, widget: QWidget, draw: Callable[[object], None]) -> None:
        self.widget = widget
        self.draw = draw
        self.pending: object | None = None
        self._dock: QDockWidget | None = None

    def submit(self, item) -> None:
        if on_screen(self.widget):
            self.pending = None
            self.draw(item)
            return
        self.pending = item
        self._watch_dock()

    def flush(self) -> None:
        """Draw what is waiting (the widget was shown)."""
        if self.pending is not None:
            item, self.pending = self.pending, None
            self.draw(item)

    def discard(self) -> None:
        self.pending = None

    def _watch_dock(self) -> None:
        if self._dock is not None:
            return
        self._dock = enclosing_dock(self.widget)
        if self._dock is not None:
            self._dock.visibilityChanged.connect(lambda visible: visible and self.flush())
