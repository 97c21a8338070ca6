"""Ctrl+K: type a few letters of a layer's name, Enter adds it after the selection."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

TYPE_ROLE = Qt.ItemDataRole.UserRole


def rank(catalog, text: str) -> list[str]:
    """Layer names for `text`: name prefix first, then name contains, then doc matches."""
    query = text.strip().lower()
    if not query:
        return catalog.names()
    prefix, inside, doc = [], [], []
    for spec in catalog:
        name = spec.name.lower()
        if name.startswith(query):
            prefix.append(spec.name)
        elif query in name:
            inside.append(spec.name)
        elif all(w in f"{spec.category} {spec.doc}".lower() for w in query.split()):
            doc.append(spec.name)
    return prefix + inside + doc


class QuickAdd(QFrame):
    chosen = Signal(str)

    def __init__(self, catalog, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.catalog = catalog
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Add a layer: type to search, Enter to insert")
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.resize(380, 320)
        self.edit.textChanged.connect(self._refill)
        self.edit.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda _item: self.accept_current())
        self.edit.installEventFilter(self)
        self._refill("")

    def _refill(self, text: str) -> None:
        self.list.clear()
        for name in rank(self.catalog, text):
            spec = self.catalog.get(name)
            item = QListWidgetItem(f"{name}  —  {spec.category}")
            item.setData(TYPE_ROLE, name)
            item.setToolTip(spec.doc)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, event) -> bool:
        # arrow keys in the text box move through the list
        if obj is self.edit and event.type() == event.Type.KeyPress and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
            return True
        return super().eventFilter(obj, event)

    def accept_current(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        name = item.data(TYPE_ROLE)
        self.close()
        self.chosen.emit(name)

    def popup_at(self, center) -> None:
        self.move(center.x() - self.width() // 2, center.y() - self.height() // 2)
        self.show()
        self.edit.setFocus()
