"""The layer palette: the catalog by category, a filter box, drag or double-click to add.

A "My blocks" section lists the open project's blocks (core/blocks.py); their entries
carry the type "Block:NAME", which the editor turns into a Block node."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from workbench.ui.canvas.view import LAYER_MIME

TYPE_ROLE = Qt.ItemDataRole.UserRole
BLOCKS_GROUP = "My blocks"
BLOCK_PREFIX = "Block:"


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
        self._document = None
        self._blocks_group: QTreeWidgetItem | None = None
        self._block_names: list[str] | None = None

    def set_catalog(self, catalog) -> None:
        self._catalog = catalog
        self.tree.clear()
        self._blocks_group = None
        self._block_names = None
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
        self._blocks_group = self._group_named(BLOCKS_GROUP)
        self._apply_filter(self.filter.text())

    def _group_named(self, text: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0) == text:
                return self.tree.topLevelItem(i)
        return None

    def set_document(self, document) -> None:
        """Keep the "My blocks" section in step with `document`'s block definitions."""
        self._document = document
        document.inferred.connect(self._document_changed)
        self.set_blocks(document.graph.blocks)

    def _document_changed(self, _result=None) -> None:
        if self._document is not None:
            self.set_blocks(self._document.graph.blocks)

    def set_blocks(self, blocks) -> None:
        names = list(blocks)
        if names == self._block_names:
            return
        self._block_names = names
        group = self._blocks_group
        if group is None:
            group = self._blocks_group = QTreeWidgetItem(self.tree, [BLOCKS_GROUP])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
        for j in reversed(range(group.childCount())):
            if str(group.child(j).data(0, TYPE_ROLE)).startswith(BLOCK_PREFIX):
                group.takeChild(j)
        for name in names:
            item = QTreeWidgetItem(group, [name])
            item.setData(0, TYPE_ROLE, BLOCK_PREFIX + name)
            item.setToolTip(0, f"<b>{name}</b><br>A block of this project: drag it onto the canvas to use it again.")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
        group.setExpanded(True)
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
                type_name = child.data(0, TYPE_ROLE)
                if type_name.startswith(BLOCK_PREFIX):
                    hay = f"{type_name[len(BLOCK_PREFIX):]} {BLOCKS_GROUP} block".lower()
                    hide = bool(words) and not all(w in hay for w in words)
                else:
                    hide = bool(words) and not matches(self._catalog.get(type_name), words)
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
