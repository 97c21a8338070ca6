"""A block's inner graph, opened from its node (double-click), shown read-only.

Shapes are those the block sees where it is used; to edit the layers, ungroup it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout

from workbench.core.blocks import inner_graph
from workbench.core.project import Project


class BlockDialog(QDialog):
    def __init__(self, document, node_id: str, parent=None) -> None:
        super().__init__(parent)
        from workbench.ui.canvas.scene import GraphScene
        from workbench.ui.canvas.view import CanvasView
        from workbench.ui.document import Document

        graph = document.graph
        name = graph.node(node_id).params.get("block")
        self.block_name = name
        result = document.result
        infos = [result.output(e.source, e.source_port) for e in graph.in_edges(node_id)]
        inputs = infos if infos and all(i is not None for i in infos) else None
        inner = inner_graph(graph.blocks[name], graph.catalog, graph.blocks, inputs)
        self.document = Document(Project(name=name, graph=inner), self)
        self.scene = GraphScene(self.document, self)
        self.view = CanvasView(self)
        self.view.setScene(self.scene)
        self.view.setInteractive(False)  # read-only: nothing can be moved, wired or deleted
        self.setWindowTitle(f"Block {name} ({node_id}) — read-only")
        note = QLabel(f"Block <b>{name}</b>, as used by <b>{node_id}</b>. Read-only: ungroup it to edit its layers.")
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.view)
        self.resize(720, 640)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.view.fit_all(max_scale=1.0)
