"""The layer palette: the catalog by category, a filter box, drag or double-click to add."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from workbench.ui.canvas.view import LAYER_MIME

TYPE_ROLE = Qt.ItemDataRole.UserRole


def layer_mime(type_name: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(LAYER_MIME, type_name.encode("utf-8"))
    mime.setText(type_name)
    return mime


def matches(spec, words: list[str]) -> bool:
    hay = f"{spec.name} {spec.category} {spec.doc}".lower()
    return all(w in hay for w in words)


class LayerTree(QTreeWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items) -> QMimeData:
        names = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        return layer_mime(names[0]) if names else QMimeData()


class Palette(QWidget):
    activated = Signal(str)  # a layer type was double-clicked (or Enter pressed)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter layers…")
        self.filter.setClearButtonEnabled(True)
        self.tree = LayerTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.filter.textChanged.connect(self._apply_filter)
        self.filter.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._on_activated)
        self._catalog = None

    def set_catalog(self, catalog) -> None:
        self._catalog = catalog
        self.tree.clear()
        for category, specs in catalog.categories().items():
            group = QTreeWidgetItem(self.tree, [category])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            for spec in specs:
                item = QTreeWidgetItem(group, [spec.name])
                item.setData(0, TYPE_ROLE, spec.name)
                item.setToolTip(0, f"<b>{spec.name}</b><br>{spec.doc}")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
        self.tree.expandAll()
        self._apply_filter(self.filter.text())

    def item_for(self, type_name: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                if group.child(j).data(0, TYPE_ROLE) == type_name:
                    return group.child(j)
        return None

    def visible_types(self) -> list[str]:
        found = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                child = group.child(j)
                if not child.isHidden():
                    found.append(child.data(0, TYPE_ROLE))
        return found

    def _apply_filter(self, text: str) -> None:
        if self._catalog is None:
            return
        words = text.lower().split()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                child = group.child(j)
                spec = self._catalog.get(child.data(0, TYPE_ROLE))
                hide = bool(words) and not matches(spec, words)
                child.setHidden(hide)
                shown += not hide
            group.setHidden(shown == 0)
            if words:
                group.setExpanded(True)

    def _activate_first(self) -> None:
        visible = self.visible_types()
        if visible:
            self.activated.emit(visible[0])

    def _on_activated(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, TYPE_ROLE)
        if name:
            self.activated.emit(name)
