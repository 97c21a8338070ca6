"""The canvas scene: mirrors a Document's graph as items and listens to its events.

Structure (nodes, edges, positions) follows the graph's events at once; texts (shapes,
key params, parameter counts, problems) follow the document's coalesced `inferred`
signal, once per edit. Mouse gestures become commands on release: a drag of nodes is
one MoveNodes step, a link drag one Connect.
"""

from __future__ import annotations

import html
import math

import shiboken6

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsScene

from workbench.core.commands import MoveNodes
from workbench.core.graph import GraphEvent
from workbench.ui.canvas.edge_item import EdgeItem
from workbench.ui.canvas.labels import key_params, params_label
from workbench.ui.canvas.link_drag import LinkDrag
from workbench.ui.canvas.node_item import GRID, NodeItem, PortItem
from workbench.ui.document import Document
from workbench.ui.theme import current_theme


class GraphScene(QGraphicsScene):
    message = Signal(str)  # refusals and hints for the status bar
    selection_changed_ids = Signal(list)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.graph = document.graph
        self.theme = current_theme()
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict = {}  # Edge -> EdgeItem
        self._link: LinkDrag | None = None
        self.picture = False
        self._reroute_timer = QTimer(self)
        self._reroute_timer.setSingleShot(True)
        self._reroute_timer.setInterval(0)
        self._reroute_timer.timeout.connect(self.reroute)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.setBackgroundBrush(QBrush(self.theme.canvas))
        self._rebuild()
        self.graph.subscribe(self._on_graph_event)
        document.inferred.connect(self.apply_result)
        self.selectionChanged.connect(self._selection_changed)
        self.apply_result(document.result)

    # ---- following the graph ----------------------------------------------------------
    def _rebuild(self) -> None:
        self.clear()
        self.nodes.clear()
        self.edges.clear()
        for node in self.graph:
            self._add_node(node.id)
        for edge in self.graph.edges:
            self._add_edge(edge)
        self._update_rect()

    def _on_graph_event(self, event: GraphEvent) -> None:
        kind = event.kind
        if kind == "node_added":
            self._add_node(event.node)
        elif kind == "node_removed":
            item = self.nodes.pop(event.node, None)
            if item is not None:
                self.removeItem(item)
        elif kind == "node_moved":
            item = self.nodes.get(event.node)
            if item is not None:
                x, y = self.graph.node(event.node).pos
                item.set_graph_pos(x, y)
            self._reroute_timer.start()  # other edges may now pass around (or through) it
        elif kind == "edge_added":
            self._add_edge(event.edge)
        elif kind == "edge_removed":
            item = self.edges.pop(event.edge, None)
            if item is not None:
                item.detach()
                self.removeItem(item)
            self._sync_ports(event.edge.target)
            self._sync_ports(event.edge.source)
        elif kind == "reset":
            self._rebuild()

    def _add_node(self, node_id: str) -> NodeItem:
        node = self.graph.node(node_id)
        spec = self.graph.spec(node_id)
        item = NodeItem(node_id, node.type, spec.category, self.theme)
        item.set_graph_pos(*node.pos)
        self.addItem(item)
        self.nodes[node_id] = item
        item.key_text = key_params(node.type, node.params, None)
        self._sync_ports(node_id)
        return item

    def _sync_ports(self, node_id: str) -> None:
        item = self.nodes.get(node_id)
        if item is None:
            return
        spec = self.graph.spec(node_id)
        used = {e.target_port for e in self.graph.in_edges(node_id)}
        count = spec.inputs
        if spec.variadic:
            count = max(spec.inputs, max(used, default=-1) + 2)
        used_out = {e.source_port for e in self.graph.out_edges(node_id)}
        item.set_ports([spec.input_label(i) for i in range(count)], spec.outputs, used, used_out)
        for edge in item.edges:
            edge.update_path()

    def _add_edge(self, edge) -> None:
        source, target = self.nodes.get(edge.source), self.nodes.get(edge.target)
        if source is None or target is None:
            return
        self._sync_ports(edge.target)
        self._sync_ports(edge.source)
        item = EdgeItem(edge, source, target, self.theme)
        self.addItem(item)
        self.edges[edge] = item
        item.update_path()

    def apply_result(self, result) -> None:
        """Shapes, key params, parameter counts and problems onto the items."""
        try:
            stats = {s.id: s for s in self.document.summary().nodes}
        except Exception:  # a summary that cannot be built must not blank the canvas
            stats = {}
        by_node: dict[str, list] = {}
        for d in result.diagnostics:
            if d.node_id is not None:
                by_node.setdefault(d.node_id, []).append(d)
        for node_id, item in self.nodes.items():
            node = self.graph.nodes.get(node_id)
            if node is None:
                continue
            outs = result.outputs.get(node_id)
            diags = by_node.get(node_id, [])
            stat = stats.get(node_id)
            fed = self.graph.in_edges(node_id) if node.type == "Output" else ()
            fed_info = tuple(result.output(e.source, e.source_port) for e in fed)
            signature = (outs, repr(node.params), tuple(diags), stat.params if stat else None, fed_info)
            if signature == item.signature:  # most nodes: nothing changed since the last edit
                continue
            if item.signature is not None and item.strip is not None:
                item.set_telemetry(None)  # an edited layer: its training figures no longer apply
            item.signature = signature
            shape = ", ".join(str(o) for o in outs) if outs else ("" if outs == () else "?")
            severity = "error" if any(d.severity == "error" for d in diags) else ("warning" if diags else None)
            key = key_params(node.type, node.params, result.resolved.get(node_id))
            if node.type == "Output":  # show what the model returns here
                info = fed_info[0] if fed_info else None
                key, shape = "model output", str(info) if info is not None else ("" if not fed else "?")
            if severity == "error" and shape in ("", "?"):  # no shape to show: say why, on the node itself
                shape = next(d.message for d in diags if d.severity == "error").splitlines()[0]
            item.set_info(key, shape, params_label(stat.params if stat else None), severity, self._tooltip(node, diags))
        for edge, item in self.edges.items():
            info = result.output(edge.source, edge.source_port)
            item.set_shape_text(str(info) if info is not None else "")
        self._update_rect()

    def _tooltip(self, node, diags) -> str:
        spec = self.graph.spec(node.id)
        lines = [f"<b>{html.escape(node.id)}</b> · {html.escape(node.type)}", html.escape(spec.doc)]
        for d in diags:
            color = self.theme.error if d.severity == "error" else self.theme.warning
            lines.append(f"<span style='color:{color.name()}'>{d.severity}: {html.escape(d.message)}</span>")
        return "<br>".join(lines)

    def set_theme(self, theme) -> None:
        """The system switched between light and dark: recolour everything."""
        self.theme = theme
        self.setBackgroundBrush(QBrush(theme.canvas))
        for item in [*self.nodes.values(), *self.edges.values()]:
            item.theme = theme
            item.update()
        self.update()

    def reroute(self) -> None:
        for item in self.edges.values():
            item.update_path()

    def _update_rect(self) -> None:
        bounds = self.itemsBoundingRect()
        self.setSceneRect(bounds.adjusted(-3000, -3000, 3000, 3000))

    # ---- selection -------------------------------------------------------------------
    def _selection_changed(self) -> None:
        if shiboken6.isValid(self):  # Qt also emits this while destroying the scene
            self.selection_changed_ids.emit(self.selected_node_ids())

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def edge_at(self, pos: QPointF, reach: float = 16.0):
        """The link passing closest to `pos`, within `reach` (a drop point is snapped to the
        grid), unless a node is there: a drop on a node is not a drop on a link."""
        if any(isinstance(i, (NodeItem, PortItem)) for i in self.items(pos)):
            return None
        best, nearest = None, reach
        area = QRectF(pos.x() - reach, pos.y() - reach, 2 * reach, 2 * reach)
        for item in self.items(area):
            if isinstance(item, EdgeItem):
                path = item.path()
                d = min(math.dist((pos.x(), pos.y()), (p.x(), p.y())) for p in (path.pointAtPercent(t / 100) for t in range(101)))
                if d <= nearest:
                    best, nearest = item.edge, d
        return best

    def select_nodes(self, node_ids) -> None:
        wanted = set(node_ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for node_id in wanted:
                item = self.nodes.get(node_id)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.blockSignals(False)
        self.selection_changed_ids.emit(self.selected_node_ids())

    # ---- gestures -------------------------------------------------------------------
    def mouseDoubleClickEvent(self, event) -> None:
        item = self.itemAt(event.scenePos(), QTransform())
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        if item is not None and item.node_id in self.graph and self.graph.node(item.node_id).type == "Block":
            self.open_block(item.node_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def open_block(self, node_id: str):
        """Open a Block node's inner graph for editing in its own window (ui/block_view.py)."""
        if self.graph.node(node_id).params.get("block") not in self.graph.blocks:
            self.message.emit(f"{node_id} has no block definition to open")
            return None
        from workbench.ui.block_view import BlockDialog

        views = self.views()
        dialog = BlockDialog(self.document, node_id, views[0].window() if views else None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.block_dialog = dialog
        return dialog

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            port = self._port_at(event.scenePos())
            if port is not None:
                self._link = LinkDrag(self, port)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._link is not None:
            self._link.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._link is not None:
            link, self._link = self._link, None
            link.finish(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self.commit_moves()

    def commit_moves(self) -> None:
        """Items dragged away from their graph position become one MoveNodes step."""
        moves = {}
        for node_id, item in self.nodes.items():
            old = self.graph.node(node_id).pos
            new = (item.pos().x(), item.pos().y())
            if old != new:
                moves[node_id] = (old, new)
        if moves:
            error = self.document.push(MoveNodes(moves), mergeable=False)
            if error:
                self.message.emit(error)
            self.reroute()

    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawBackground(painter, rect)
        if self.picture:  # drawn for an image (ui/graph_image.py): no grid
            return
        scale = painter.worldTransform().m11()
        step = GRID * (5 if scale < 0.5 else 1)
        if step * scale < 6:
            return
        painter.setPen(QPen(self.theme.grid, 0))
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        lines = []
        x = left
        while x < rect.right():
            lines.append((QPointF(x, rect.top()), QPointF(x, rect.bottom())))
            x += step
        y = top
        while y < rect.bottom():
            lines.append((QPointF(rect.left(), y), QPointF(rect.right(), y)))
            y += step
        for a, b in lines:
            painter.drawLine(a, b)
