"""The canvas view: zoom around the cursor, pan, fit, and drops from the palette."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView

from workbench.ui.canvas.node_item import NODE_H, NODE_W, snap

LAYER_MIME = "application/x-workbench-layer"
MIN_SCALE, MAX_SCALE = 0.1, 4.0


class CanvasView(QGraphicsView):
    layer_dropped = Signal(str, QPointF)  # layer type, scene position of the node's top-left

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPointF | None = None
        self._space = False
        self.placeholder = ""

    # ---- zoom ---------------------------------------------------------------------------
    def zoom_by(self, factor: float) -> None:
        current = self.transform().m11()
        target = min(MAX_SCALE, max(MIN_SCALE, current * factor))
        if current > 0 and target != current:
            self.scale(target / current, target / current)

    def reset_zoom(self) -> None:
        center = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.centerOn(center)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.0015 ** delta)
        event.accept()

    def fit_all(self, max_scale: float = 1.25, min_scale: float = MIN_SCALE) -> None:
        scene = self.scene()
        if scene is None:
            return
        nodes = getattr(scene, "nodes", {})
        if not nodes:
            return
        rect = QRectF()
        for item in [*nodes.values(), *getattr(scene, "edges", {}).values()]:  # edges: lanes between columns
            rect = rect.united(item.sceneBoundingRect())
        rect = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        scale = self.transform().m11()
        clamped = min(max_scale, max(min_scale, scale))
        if clamped != scale:
            self.resetTransform()
            self.scale(clamped, clamped)
            if clamped > scale:  # too tall to fit readably: show its top
                top = QPointF(rect.center().x(), rect.top() + self.viewport().height() / clamped / 2)
                self.centerOn(top)
            else:
                self.centerOn(rect.center())

    def visible_center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    # ---- pan: middle button, or space + left button -------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._space = False
        super().focusOutEvent(event)

    # ---- drops from the palette -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
            self._mark_link(self.mapToScene(event.position().toPoint()))
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self._mark_link(None)
        super().dragLeaveEvent(event)

    def _mark_link(self, at: QPointF | None) -> None:
        """The link a drop here would insert the layer into is drawn highlighted."""
        scene = self.scene()
        if scene is None or not hasattr(scene, "edge_at"):
            return
        edge = scene.edge_at(at) if at is not None else None
        for item in scene.edges.values():
            item.set_drop_target(item.edge == edge)

    def dropEvent(self, event) -> None:
        self._mark_link(None)
        if not event.mimeData().hasFormat(LAYER_MIME):
            event.ignore()
            return
        type_name = bytes(event.mimeData().data(LAYER_MIME)).decode("utf-8")
        at = self.mapToScene(event.position().toPoint())
        self.layer_dropped.emit(type_name, QPointF(snap(at.x() - NODE_W / 2), snap(at.y() - NODE_H / 2)))
        event.acceptProposedAction()

    # ---- an empty canvas says what to do ----------------------------------------------------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        scene = self.scene()
        text = self.placeholder
        if not text and (scene is None or not getattr(scene, "nodes", None)):
            text = "Drag a layer from the palette, or press Ctrl+K to add one"
        if text:
            painter.save()
            painter.resetTransform()
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.viewport().rect(), int(Qt.AlignmentFlag.AlignCenter), text)
            painter.restore()
