"""Dragging a link between ports: snapping, live refusal hints, one command on release.

Drag from an output port to an input port (or from a free input back to an output).
Pressing a connected input picks up its edge: drop it on another input to rewire it,
or on empty space to remove it; dropped on a node or port that cannot take it, the link
stays exactly as it was and the status bar says why. The draft snaps to the nearest port that would
accept the link; over one that would not, the port turns red and the status bar
says why (the graph's own GraphError text).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF

from workbench.core.commands import Connect, Disconnect, Macro
from workbench.core.graph import Edge, GraphError
from workbench.ui.canvas.edge_item import DraftEdge
from workbench.ui.canvas.node_item import PortItem

SNAP_RADIUS = 36.0  # in screen pixels
HIT_RADIUS = 12.0


class LinkDrag:
    def __init__(self, scene, port: PortItem) -> None:
        self.scene = scene
        self.graph = scene.graph
        self.picked: Edge | None = None  # an existing edge being rewired
        if port.is_input:
            fed = [e for e in self.graph.in_edges(port.node.node_id) if e.target_port == port.index]
            if fed:
                self.picked = fed[0]
                port = scene.nodes[self.picked.source].output_port(self.picked.source_port)
                scene.edges[self.picked].setVisible(False)
        self.anchor = port
        self.from_output = not port.is_input
        self.draft = DraftEdge(scene.theme)
        scene.addItem(self.draft)
        self.hover: PortItem | None = None
        self.draft.set_ends(port.scenePos(), port.scenePos(), self.from_output)

    # ---- candidates ---------------------------------------------------------------------
    def _edge_to(self, port: PortItem) -> Edge:
        a = self.anchor
        if self.from_output:
            return Edge(a.node.node_id, port.node.node_id, a.index, port.index)
        return Edge(port.node.node_id, a.node.node_id, port.index, a.index)

    def refusal(self, port: PortItem) -> str | None:
        edge = self._edge_to(port)
        if self.picked is not None and edge == self.picked:
            return None
        try:  # the picked edge never blocks its own rewiring: it leaves the same source
            self.graph.check_connect(edge)
        except GraphError as exc:
            return str(exc)
        return None

    def _scale(self) -> float:
        views = self.scene.views()
        return views[0].transform().m11() if views else 1.0

    def _candidates(self, pos: QPointF):
        want_input = self.from_output
        radius = SNAP_RADIUS / max(self._scale(), 0.05)
        found = []
        for node in self.scene.nodes.values():
            if node is self.anchor.node:
                continue
            if node.sceneBoundingRect().adjusted(-radius, -radius, radius, radius).contains(pos):
                for port in node.inputs if want_input else node.outputs:
                    d = math.dist((port.scenePos().x(), port.scenePos().y()), (pos.x(), pos.y()))
                    if d <= radius:
                        found.append((d, port))
        found.sort(key=lambda t: t[0])
        return [p for _, p in found]

    def _pick(self, pos: QPointF) -> tuple[PortItem | None, str | None]:
        """The port the link would go to, or the port under the cursor with its refusal."""
        candidates = self._candidates(pos)
        hit = HIT_RADIUS / max(self._scale(), 0.05)
        for port in candidates:
            if self.refusal(port) is None:
                return port, None
        for port in candidates:
            d = math.dist((port.scenePos().x(), port.scenePos().y()), (pos.x(), pos.y()))
            if d <= hit:
                return port, self.refusal(port)
        return None, None

    # ---- gesture ----------------------------------------------------------------------
    def move(self, pos: QPointF) -> None:
        port, reason = self._pick(pos)
        if self.hover is not None and self.hover is not port:
            self.hover.set_highlight(None)
        self.hover = port
        if port is not None:
            port.set_highlight("bad" if reason else "ok")
            if reason:
                self.scene.message.emit(reason)
        end = port.scenePos() if port is not None and not reason else pos
        self.draft.set_ends(self.anchor.scenePos(), end, self.from_output)

    def finish(self, pos: QPointF) -> None:
        port, reason = self._pick(pos)
        self._cleanup()
        document = self.scene.document
        picked = self.picked
        if port is None:
            over = self._over_node(pos)
            if picked is not None and over is None:  # released on empty canvas: the documented removal
                error = document.push(Disconnect(picked))
                self.scene.message.emit(error or f"Removed the link {picked.source} → {picked.target}")
            elif picked is not None:
                self.scene.message.emit(
                    f"Kept the link {picked.source} → {picked.target}: {over} has no free "
                    f"{'input' if self.from_output else 'output'} port there; drop it on one, or on empty canvas to remove it")
            return
        edge = self._edge_to(port)
        if picked is not None and edge == picked:
            return
        connect = Connect(edge.source, edge.target, edge.source_port, edge.target_port)
        command = connect if picked is None else Macro("Rewire", [Disconnect(picked), connect])
        error = document.push(command)  # a refused rewire undoes its Disconnect: the link stays as it was
        if error and picked is not None:
            self.scene.message.emit(f"Kept the link {picked.source} → {picked.target}: {error}")
        elif error:
            self.scene.message.emit(f"Cannot connect: {error}")
        else:
            self.scene.message.emit(f"Connected {edge.source} → {edge.target}")

    def _over_node(self, pos: QPointF) -> str | None:
        """The id of the node (or one of its ports) under `pos`, if any."""
        for item in self.scene.items(pos):
            node = item.node if isinstance(item, PortItem) else item
            if getattr(node, "node_id", None) is not None:
                return node.node_id
        return None

    def cancel(self) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        if self.hover is not None:
            self.hover.set_highlight(None)
        if self.picked is not None and self.picked in self.scene.edges:
            self.scene.edges[self.picked].setVisible(True)
        self.scene.removeItem(self.draft)
