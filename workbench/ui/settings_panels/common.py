"""Shared pieces of the settings docks: an undoable "replace this project section" command,
a tiny helper to mark a field as invalid, and the vertical scroller both docks sit in."""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QScrollArea, QWidget

from workbench.ui.undo import merge_id

INVALID_STYLE = "border: 1px solid #d9534f; background: rgba(217, 83, 79, 40);"


class SectionCommand(QUndoCommand):
    """Replace `project.<section>` (a dict) with a new one. Consecutive edits of the same
    field (`field` tuple) merge, so typing into a spin box is one undo step."""

    def __init__(self, project, section: str, new: dict, field: tuple, text: str, on_change=None) -> None:
        super().__init__(text)
        self.project = project
        self.section = section
        self.old = copy.deepcopy(getattr(project, section))
        self.new = copy.deepcopy(new)
        self.field = tuple(field)
        self.on_change = on_change
        self.sealed = False

    def _apply(self, value: dict) -> None:
        setattr(self.project, self.section, copy.deepcopy(value))
        if self.on_change is not None:
            self.on_change()

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)

    def id(self) -> int:
        return merge_id(("settings", self.section, self.field))

    def mergeWith(self, other) -> bool:
        if self.sealed or not isinstance(other, SectionCommand) or other.field != self.field or other.section != self.section:
            return False
        self.new = copy.deepcopy(other.new)
        return True


def mark(widget, message: str | None) -> None:
    """Show `message` on `widget` (red frame + tooltip), or clear it."""
    if widget is None:
        return
    widget.setStyleSheet(INVALID_STYLE if message else "")
    widget.setToolTip(message or "")
    widget.setProperty("invalid", bool(message))


def vertical_scroller(content: QWidget) -> QScrollArea:
    """`content` at the dock's width, scrolling up and down when the dock is short."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(content)
    return scroll
