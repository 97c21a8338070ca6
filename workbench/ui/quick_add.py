"""Ctrl+K: type a few letters of a layer's (or one of the project's blocks') name, Enter adds it
after the selection."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from workbench.ui.editing import BLOCK_PREFIX

TYPE_ROLE = Qt.ItemDataRole.UserRole
BLOCK_CATEGORY = "My blocks"


def rank(catalog, text: str, blocks=()) -> list[str]:
    """Entries for `text`: name prefix first, then name contains, then doc matches. The
    project's blocks come as "Block:NAME" (matched by NAME, or by the word "block"), and
    the generic Block layer, which needs a block chosen, is left out when there are some."""
    query = text.strip().lower()
    entries = [(f"{BLOCK_PREFIX}{b}", b, f"{BLOCK_CATEGORY} block") for b in blocks]
    entries += [(s.name, s.name, f"{s.category} {s.doc}") for s in catalog if not (blocks and s.name == "Block")]
    if not query:
        return [key for key, _, _ in entries]
    prefix, inside, doc = [], [], []
    for key, name, about in entries:
        name = name.lower()
        if name.startswith(query):
            prefix.append(key)
        elif query in name:
            inside.append(key)
        elif all(w in about.lower() for w in query.split()):
            doc.append(key)
    return prefix + inside + doc


class QuickAdd(QFrame):
    chosen = Signal(str)

    def __init__(self, catalog, parent=None, blocks=None) -> None:
        """`blocks`: a function giving the names of the project's blocks (asked at each popup)."""
        super().__init__(parent, Qt.WindowType.Popup)
        self.catalog = catalog
        self.blocks = blocks or (lambda: [])
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
        for name in rank(self.catalog, text, self.blocks()):
            if name.startswith(BLOCK_PREFIX):
                item = QListWidgetItem(f"{name[len(BLOCK_PREFIX):]}  —  {BLOCK_CATEGORY}")
                item.setToolTip("A block of this project")
            else:
                spec = self.catalog.get(name)
                item = QListWidgetItem(f"{name}  —  {spec.category}")
                item.setToolTip(spec.doc)
            item.setData(TYPE_ROLE, name)
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
        self._refill(self.edit.text())  # the project's blocks may have changed since the last time
        self.move(center.x() - self.width() // 2, center.y() - self.height() // 2)
        self.show()
        self.edit.setFocus()
