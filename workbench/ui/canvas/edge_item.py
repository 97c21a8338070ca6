"""Edges: a bezier from an output port down to an input port, labelled with its shape.

An edge whose curve would cross other nodes (a skip connection) is routed down a
lane beside them instead, so it never hides a layer; one that goes up to a node above
(the next column of a wrapped layout) runs up a lane clear of the nodes between.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from workbench.core.graph import Edge
from workbench.ui.canvas.node_item import hovered
from workbench.ui.theme import Theme

LANE_GAP = 26.0


def bezier(p0: QPointF, p1: QPointF) -> QPainterPath:
    dy = max(40.0, abs(p1.y() - p0.y()) / 2)
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x(), p0.y() + dy), QPointF(p1.x(), p1.y() - dy), p1)
    return path


UP_TURN = 18.0  # an edge going up turns into its lane this close to its ends (core/layout.LANE_TURN)


def lane_path(p0: QPointF, p1: QPointF, lane_x: float, turn: float = 36.0) -> QPainterPath:
    """Out of the source, along a vertical lane at `lane_x` (down, or up to a node above), into the target."""
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x(), p0.y() + turn), QPointF(lane_x, p0.y() + 4), QPointF(lane_x, p0.y() + turn + 8))
    path.lineTo(QPointF(lane_x, p1.y() - turn - 8))
    path.cubicTo(QPointF(lane_x, p1.y() - 4), QPointF(p1.x(), p1.y() - turn), p1)
    return path


def _blocked(path: QPainterPath, rects: list[QRectF]) -> list[QRectF]:
    hits = []
    samples = [path.pointAtPercent(i / 24) for i in range(1, 24)]
    for rect in rects:
        grown = rect.adjusted(-4, -4, 4, 4)
        if any(grown.contains(p) for p in samples):
            hits.append(rect)
    return hits


def _free_lane(x: float, band: list[QRectF], direction: float) -> float:
    """The first x from `x` on, going `direction` (+1 right, -1 left), clear of every rect in `band`."""
    while any(r.left() - 6 < x < r.right() + 6 for r in band):
        inside = [r for r in band if r.left() - 6 < x < r.right() + 6]
        x = (max(r.right() for r in inside) if direction > 0 else min(r.left() for r in inside)) + direction * LANE_GAP
    return x


def route(p0: QPointF, p1: QPointF, obstacles: list[QRectF]) -> tuple[QPainterPath, float]:
    """A bezier, or a lane around the nodes it would cross; the lane's side (+1 right,
    -1 left, 0 for no lane) says where its label fits. An edge that goes up (on to the top
    of the next column of a wrapped layout) takes a lane between the columns."""
    if p1.y() < p0.y() - 20:
        band = [r for r in obstacles if r.bottom() > p1.y() - 50 and r.top() < p0.y() + 50]
        direction = 1.0 if p1.x() >= p0.x() else -1.0
        return lane_path(p0, p1, _free_lane((p0.x() + p1.x()) / 2, band, direction), UP_TURN), direction
    path = bezier(p0, p1)
    if p1.y() - p0.y() < 100 or not obstacles:
        return path, 0
    hits = _blocked(path, obstacles)
    if not hits:
        return path, 0
    band = [r for r in obstacles if r.bottom() > p0.y() and r.top() < p1.y()]
    right = max(r.right() for r in hits)
    left = min(r.left() for r in hits)
    mid = (p0.x() + p1.x()) / 2
    centre = (left + right) / 2
    if mid >= centre:
        return lane_path(p0, p1, _free_lane(right + LANE_GAP, band, 1)), 1
    return lane_path(p0, p1, _free_lane(left - LANE_GAP, band, -1)), -1


class EdgeLabel(QGraphicsItem):
    """The tensor shape an edge carries, on a small plate so it stays readable."""

    def __init__(self, parent: "EdgeItem") -> None:
        super().__init__(parent)
        self.text = ""
        self._rect = QRectF()
        self.setZValue(3)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_text(self, text: str) -> None:
        if text == self.text:
            return
        self.prepareGeometryChange()
        self.text = text
        from workbench.ui.canvas.node_item import _fonts

        metrics = QFontMetrics(_fonts()["body"])
        width = metrics.horizontalAdvance(text) + 10
        height = metrics.height() + 2
        self._rect = QRectF(-width / 2, -height / 2, width, height) if text else QRectF()
        self.setVisible(bool(text))

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        from workbench.ui.canvas.node_item import _fonts

        theme = self.parentItem().theme
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.edge, 0.8))
        painter.setBrush(theme.label_fill)
        painter.drawRoundedRect(self._rect, 4, 4)
        painter.setFont(_fonts()["body"])
        painter.setPen(theme.muted)
        painter.drawText(self._rect, int(Qt.AlignmentFlag.AlignCenter), self.text)


class EdgeItem(QGraphicsPathItem):
    def __init__(self, edge: Edge, source, target, theme: Theme) -> None:
        super().__init__()
        self.edge = edge
        self.source = source  # NodeItem
        self.target = target
        self.theme = theme
        self._side = 0
        self._upward = False
        self.drop_target = False
        self.label = EdgeLabel(self)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        source.edges.add(self)
        target.edges.add(self)

    def set_drop_target(self, on: bool) -> None:
        """Highlighted while a layer dragged from the palette would be inserted into this link."""
        if on != self.drop_target:
            self.drop_target = on
            self.update()

    def detach(self) -> None:
        self.source.edges.discard(self)
        self.target.edges.discard(self)

    def endpoints(self) -> tuple[QPointF, QPointF] | None:
        out = self.source.output_port(self.edge.source_port)
        inp = self.target.input_port(self.edge.target_port)
        if out is None or inp is None:
            return None
        return out.scenePos(), inp.scenePos()

    def update_path(self) -> None:
        ends = self.endpoints()
        if ends is None:
            return
        p0, p1 = ends
        obstacles = []
        scene = self.scene()
        upward = p1.y() < p0.y() - 20
        if scene is not None and (p1.y() - p0.y() >= 100 or upward):
            corridor = QRectF(p0, p1).normalized().adjusted(-120, -50 if upward else 0, 120, 50 if upward else 0)
            for item in scene.items(corridor):
                if getattr(item, "node_id", None) is not None and (upward or item not in (self.source, self.target)):
                    obstacles.append(item.sceneBoundingRect().adjusted(3, 3, -3, -3))
        path, self._side = route(p0, p1, obstacles)
        self._upward = upward
        self.setPath(path)
        self._place_label()

    def _place_label(self) -> None:
        at = self.path().pointAtPercent(0.5)
        if self._upward:  # at its source, before it turns away into the lane
            at = self.path().pointAtPercent(0.0) + QPointF(0, 18)
        elif self._side:  # beside the lane, away from the nodes it passes
            at += QPointF(self._side * (self.label.boundingRect().width() / 2 + 5), 0)
        self.label.setPos(at)

    def set_shape_text(self, text: str) -> None:
        if text != self.label.text:
            self.label.set_text(text)
            self._place_label()

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        color = self.theme.selection if self.isSelected() else self.theme.edge
        hover = hovered(option)
        width = 2.8 if (self.isSelected() or hover) else 1.7
        if (hover or self.drop_target) and not self.isSelected():
            color = self.theme.port
        if self.drop_target:
            width = 4.0
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())


class DraftEdge(QGraphicsPathItem):
    """The dashed curve that follows the mouse while a link is being dragged."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.setPen(QPen(theme.port, 2.0, Qt.PenStyle.DashLine))
        self.setZValue(5)

    def set_ends(self, start: QPointF, end: QPointF, from_output: bool) -> None:
        self.setPath(bezier(start, end) if from_output else bezier(end, start))
