"""A block's inner graph, opened from its node (double-click), edited in place.

The window is a small editor of its own: drop layers from the palette or press Ctrl+K,
wire, delete, auto-layout, edit a layer's parameters or id in its inspector, with its own undo history (Ctrl+Z here undoes the last edit
inside the block). Every edit is written back to the project as one merged step
("Edit block NAME", core/block_edit.py), so every use of the block follows at once, and
after the window closes one undo in the main window takes the whole edit back. Shapes are
those the block sees where this node uses it; the Inputs' own params are what is saved.
If the definition changes from outside (an undo in the main window), the window reloads it.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QSplitter, QToolBar, QVBoxLayout

from workbench.core.blocks import inner_graph
from workbench.core.block_edit import SetBlockDefinition
from workbench.core.project import Project


class BlockDialog(QDialog):
    def __init__(self, document, node_id: str, parent=None) -> None:
        super().__init__(parent)
        from workbench.ui.canvas.view import CanvasView
        from workbench.ui.inspector import Inspector

        self.outer = document
        self.node_id = node_id
        self.block_name = document.graph.node(node_id).params.get("block")
        self.document = self.scene = self.editor = None
        self._written: dict | None = None
        self._pushing = self._finished = False
        self.view = CanvasView(self)
        self.inspector = Inspector(self)  # the selected inner layer's parameters (and id)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.setWindowTitle(f"Block {self.block_name} ({node_id})")
        note = QLabel(f"Block <b>{self.block_name}</b>, as used by <b>{node_id}</b>. Edits apply to every use "
                      "of the block; Ctrl+Z undoes them here, one step in the main window after closing.")
        note.setWordWrap(True)
        self.toolbar = QToolBar(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.toolbar)
        split = QSplitter(self)
        split.addWidget(self.view)
        split.addWidget(self.inspector)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.view.layer_dropped.connect(lambda name, pos: self.editor.add_layer(name, pos))
        self._load()
        self._actions()
        document.undo_stack.indexChanged.connect(self._outer_changed)
        self.inspector.renamed.connect(lambda n: self.scene.select_nodes([n]))
        self.resize(1040, 680)

    # ---- the inner document -------------------------------------------------------------
    def _load(self) -> None:
        """(Re)build the inner document from the project's current definition."""
        from workbench.ui.canvas.scene import GraphScene
        from workbench.ui.document import Document
        from workbench.ui.editing import Editor

        graph = self.outer.graph
        definition = graph.blocks[self.block_name]
        result = self.outer.result
        infos = [result.output(e.source, e.source_port) for e in graph.in_edges(self.node_id)]
        inputs = infos if infos and all(i is not None for i in infos) else None
        inner = inner_graph(definition, graph.catalog, graph.blocks, inputs)
        old = self.document
        self._written = copy.deepcopy(definition)
        self.document = Document(Project(name=self.block_name, graph=inner), self)
        self.scene = GraphScene(self.document, self)
        self.scene.message.connect(self.status.setText)
        self.scene.selection_changed_ids.connect(self.inspector.show_nodes)
        self.view.setScene(self.scene)
        self.inspector.set_document(self.document)
        self.editor = Editor(self.document, self.scene, self.view)
        self.document.undo_stack.indexChanged.connect(self._write_back)
        if old is not None:
            old.undo_stack.blockSignals(True)
            old.deleteLater()

    def definition(self) -> dict:
        """The edited inner graph as a block definition, its Inputs' params as the project had them."""
        graph = self.document.graph.to_dict()
        saved = {n["id"]: n for n in self._written["graph"].get("nodes", [])}
        for node in graph["nodes"]:
            if node["type"] == "Input" and node["id"] in saved:
                node["params"] = copy.deepcopy(saved[node["id"]].get("params") or {})
        return {**copy.deepcopy(self._written), "graph": graph}

    def _write_back(self, _index: int = 0) -> None:
        if self.block_name not in self.outer.graph.blocks:
            return
        definition = self.definition()
        if definition == self.outer.graph.blocks[self.block_name]:
            return
        self._pushing = True
        try:
            error = self.outer.push(SetBlockDefinition(self.block_name, definition))
        finally:
            self._pushing = False
        if error:
            self.status.setText(error)
            return
        self._written = definition

    def _outer_changed(self, _index: int) -> None:
        """An undo or redo in the main window changed the block: show what it holds now."""
        if self._pushing:
            return
        current = self.outer.graph.blocks.get(self.block_name)
        if current is None:
            self.close()
        elif current != self._written:
            self._load()
            self.status.setText("The block changed in the main window; this shows it as it is now")

    # ---- actions --------------------------------------------------------------------------
    def _actions(self) -> None:
        def action(text, slot, keys, canvas=False):
            """`canvas`: the keys work only while the canvas has focus (Backspace in a field edits text)."""
            a = QAction(text, self)
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            a.triggered.connect(lambda _checked=False: slot())
            (self.view if canvas else self).addAction(a)
            self.toolbar.addAction(a)
            return a

        self.undo_action = action("Undo", lambda: self.document.undo_stack.undo(), [QKeySequence.StandardKey.Undo])
        self.redo_action = action("Redo", lambda: self.document.undo_stack.redo(), ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.add_action = action("Quick Add Layer…", self.quick_add, ["Ctrl+K"])
        self.delete_action = action("Delete", lambda: self.editor.delete_selection(),
                                    [QKeySequence.StandardKey.Delete, "Backspace"], canvas=True)
        self.layout_action = action("Auto-Layout", lambda: self.editor.auto_layout(), ["Ctrl+Shift+L"])

    def quick_add(self) -> None:
        from workbench.ui.quick_add import QuickAdd

        popup = QuickAdd(self.document.graph.catalog, self, blocks=lambda: self._usable_blocks())
        popup.chosen.connect(lambda name: self.editor.add_layer(name, wire=True))
        popup.popup_at(self.view.mapToGlobal(self.view.rect().center()))
        self.quick = popup

    def _usable_blocks(self) -> list[str]:
        """Other blocks of the project (a block cannot contain itself)."""
        from workbench.core.blocks import used_blocks

        blocks = self.outer.graph.blocks
        return [n for n in blocks if n != self.block_name and self.block_name not in _reach(n, blocks, used_blocks)]

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.view.fit_all(max_scale=1.0)

    def closeEvent(self, event) -> None:
        self._finish()
        super().closeEvent(event)

    def reject(self) -> None:  # Escape
        self._finish()
        super().reject()

    def _finish(self) -> None:
        """Once, whether closed or Escaped (QDialog's closeEvent also rejects)."""
        if self._finished:
            return
        self._finished = True
        self.outer.seal()  # the next edit of this block (another opening) is a step of its own
        self.outer.undo_stack.indexChanged.disconnect(self._outer_changed)


def _reach(name: str, blocks: dict, used_blocks) -> set[str]:
    """Every block that block `name` uses, directly or through others."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        for used in used_blocks(blocks[stack.pop()], blocks):
            if used not in seen:
                seen.add(used)
                stack.append(used)
    return seen
