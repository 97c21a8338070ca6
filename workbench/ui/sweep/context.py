""""Search over this…" on a field's right-click menu (Inspector, Training settings).

`offer_search(widget, key)` adds the entry to the widget's own context menu (a spin box
keeps Copy/Paste/Step up...); choosing it asks the window's Sweep dock to open the range
editor for `key()` (a dotted key: nodes.<id>.<param>, training.optimizer.lr).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QMenu, QWidget

__all__ = ["offer_search", "SEARCH_ACTION"]

SEARCH_ACTION = "Search over this…"


class _SearchMenu(QObject):
    def __init__(self, widget: QWidget, key: Callable[[], str | None]) -> None:
        super().__init__(widget)
        self.widget, self.key = widget, key

    def menu(self) -> QMenu:
        """The widget's usual menu with the search entry added (what a right-click shows)."""
        edit = self.widget if isinstance(self.widget, QLineEdit) else self.widget.findChild(QLineEdit)
        menu = edit.createStandardContextMenu() if edit is not None else QMenu(self.widget)
        if isinstance(self.widget, QAbstractSpinBox):
            menu.addSeparator()
            menu.addAction("Step up", self.widget.stepUp)
            menu.addAction("Step down", self.widget.stepDown)
        menu.addSeparator()
        action = menu.addAction(SEARCH_ACTION, self.search)
        action.setObjectName("search_over_this")
        action.setEnabled(self._panel() is not None and self.key() is not None)
        return menu

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.ContextMenu:
            menu = self.menu()
            menu.exec(event.globalPos())
            menu.deleteLater()
            return True
        return False

    def _panel(self):
        return getattr(self.widget.window(), "sweep_panel", None)

    def search(self) -> None:
        panel, key = self._panel(), self.key()
        if panel is not None and key is not None:
            panel.search_over(key)


def offer_search(widget: QWidget, key: Callable[[], str | None]) -> QObject:
    """Add "Search over this…" to `widget`'s right-click menu; returns the filter (tests call `.menu()`)."""
    handler = _SearchMenu(widget, key)
    widget.installEventFilter(handler)
    for child in widget.findChildren(QLineEdit):
        child.installEventFilter(handler)
    widget.setProperty("search_menu", True)
    widget._search_menu = handler
    return handler
