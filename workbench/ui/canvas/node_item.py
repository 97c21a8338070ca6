"""A layer on the canvas: title (id and type), key params, output shape, param count,
and while training a thin telemetry strip below them (see canvas/telemetry.py).

Inputs are ports along the top edge, outputs along the bottom: data flows down. A
variadic merge (Add, Concat) always shows one free port after its connected ones.
The item draws what the scene tells it (from the graph and the inference result);
it never edits the graph itself.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyle, QStyleOptionGraphicsItem

from workbench.core.layout import NODE_H, NODE_W
from workbench.ui.theme import Theme

TITLE_H = 22.0
STRIP_H = 20.0  # the telemetry strip, below the body, only while there is something to show
STRIP_TEXT_H = 14.0  # its line of text, clear of the output ports on the bottom edge
GRID = 20.0
PORT_R = 5.0


def hovered(option: QStyleOptionGraphicsItem) -> bool:
    """Qt tracks the hover of items that accept hover events (and repaints on enter/leave)."""
    return bool(option.state & QStyle.StateFlag.State_MouseOver)


def snap(value: float) -> float:
    return round(value / GRID) * GRID


class PortItem(QGraphicsItem):
    """One input or output port; its scene position is where edges attach."""

    def __init__(self, node: "NodeItem", is_input: bool, index: int, label: str) -> None:
        super().__init__(node)
        self.node = node
        self.is_input = is_input
        self.index = index
        self.label = label
        self.connected = False
        self.highlight: str | None = None  # "ok" or "bad" while a link is dragged over it
        self.setAcceptHoverEvents(True)
        self.setToolTip(f"{label} — drag to connect" if label else "drag to connect")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)

    def boundingRect(self) -> QRectF:
        return QRectF(-9, -9, 18, 18)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), 9, 9)
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = self.node.theme
        radius = PORT_R + (2 if hovered(option) or self.highlight else 0)
        color = theme.port
        if self.highlight == "bad":
            color = theme.error
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 1.6))
        painter.setBrush(QBrush(color if (self.connected or self.highlight) else theme.node_fill))
        painter.drawEllipse(QPointF(0, 0), radius, radius)

    def set_highlight(self, state: str | None) -> None:
        if state != self.highlight:
            self.highlight = state
            self.update()


class NodeItem(QGraphicsItem):
    def __init__(self, node_id: str, type_name: str, category: str, theme: Theme) -> None:
        super().__init__()
        self.node_id = node_id
        self.type_name = type_name
        self.category = category
        self.theme = theme
        self.key_text = ""
        self.shape_text = ""
        self.params_text = ""
        self.severity: str | None = None
        self.strip: tuple[str, str] | None = None  # (text, level: ok | dead | bad), see canvas/telemetry.py
        self.strip_dimmed = False  # the run is over: the last values stay, quieter
        self.fault: str | None = None  # why the node is red (NaN/Inf, a run that failed here)
        self._base_tooltip = ""
        self.strip_tooltip = ""
        self.signature = None  # what the texts were computed from (the scene skips unchanged nodes)
        self.edges: set = set()
        self.inputs: list[PortItem] = []
        self.outputs: list[PortItem] = []
        self._syncing = False
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setZValue(1)

    # ---- ports -------------------------------------------------------------------
    def set_ports(self, input_labels: list[str], outputs: int, connected: set[int], used_outputs: set[int]) -> None:
        if [p.label for p in self.inputs] != input_labels or len(self.outputs) != outputs:
            for port in self.inputs + self.outputs:
                port.setParentItem(None)
                if port.scene() is not None:
                    port.scene().removeItem(port)
            self.inputs = [PortItem(self, True, i, label) for i, label in enumerate(input_labels)]
            self.outputs = [PortItem(self, False, i, f"output {i}" if outputs > 1 else "output") for i in range(outputs)]
            for ports, y in ((self.inputs, 0.0), (self.outputs, self.height)):
                for i, port in enumerate(ports):
                    port.setPos(NODE_W * (i + 1) / (len(ports) + 1), y)
        for ports, used in ((self.inputs, connected), (self.outputs, used_outputs)):
            for port in ports:
                if port.connected != (port.index in used):
                    port.connected = port.index in used
                    port.update()

    def input_port(self, index: int) -> PortItem | None:
        return self.inputs[index] if 0 <= index < len(self.inputs) else None

    def output_port(self, index: int) -> PortItem | None:
        return self.outputs[index] if 0 <= index < len(self.outputs) else None

    # ---- content -----------------------------------------------------------------
    def set_info(self, key_text: str, shape_text: str, params_text: str, severity: str | None, tooltip: str) -> None:
        if (key_text, shape_text, params_text, severity) != (self.key_text, self.shape_text, self.params_text, self.severity):
            self.key_text, self.shape_text, self.params_text, self.severity = key_text, shape_text, params_text, severity
            self.update()
        self._base_tooltip = tooltip
        self._sync_tooltip()

    def set_telemetry(self, strip: tuple[str, str] | None, tooltip: str = "", fault: str | None = None,
                      dimmed: bool = False) -> None:
        """What the strip shows (None: no strip) and, with `fault`, mark the node red."""
        if (strip, fault, dimmed) != (self.strip, self.fault, self.strip_dimmed):
            grows = (strip is not None) != (self.strip is not None)
            if grows:
                self.prepareGeometryChange()
            self.strip, self.fault, self.strip_dimmed = strip, fault, dimmed
            if grows:
                for port in self.outputs:
                    port.setPos(port.pos().x(), self.height)
                for edge in self.edges:
                    edge.update_path()
            self.update()
        self.strip_tooltip = tooltip
        self._sync_tooltip()

    def _sync_tooltip(self) -> None:
        tooltip = "<br>".join(t for t in (self._base_tooltip, self.strip_tooltip) if t)
        if tooltip != self.toolTip():
            self.setToolTip(tooltip)

    @property
    def height(self) -> float:
        return NODE_H + (STRIP_H if self.strip is not None else 0.0)

    def set_graph_pos(self, x: float, y: float) -> None:
        """Follow the graph (undo, load): no snapping, so the item matches the model exactly."""
        self._syncing = True
        try:
            self.setPos(x, y)
        finally:
            self._syncing = False

    def center(self) -> QPointF:
        return self.pos() + QPointF(NODE_W / 2, self.height / 2)

    # ---- Qt ------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(-3, -3, NODE_W + 6, self.height + 6)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, NODE_W, self.height), 6, 6)
        return path

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and not self._syncing:
            return QPointF(snap(value.x()), snap(value.y()))
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        theme = self.theme
        fonts = _fonts()
        rect = QRectF(0, 0, NODE_W, self.height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border, width = theme.node_border, 1.0
        if self.severity == "error" or self.fault:
            border, width = theme.error, 2.2
        elif self.severity == "warning":
            border, width = theme.warning, 2.0
        if self.isSelected():
            border, width = (theme.error, 3.0) if self.fault else (theme.selection, 3.0)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.node_fill)
        painter.drawRoundedRect(rect, 6, 6)
        # title band in the category colour
        band = QPainterPath()
        band.addRoundedRect(QRectF(0, 0, NODE_W, TITLE_H + 6), 6, 6)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, NODE_W, TITLE_H))
        painter.setBrush(self.theme.category(self.category))
        painter.drawPath(band.intersected(clip))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(border, width))
        painter.drawRoundedRect(rect, 6, 6)
        if (self.severity is not None or self.fault) and not self.isSelected():
            painter.setBrush(QColor(border.red(), border.green(), border.blue(), 40))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(rect, 6, 6)

        pad = 8.0
        title_color = QColor(20, 22, 26) if not theme.dark else QColor(240, 242, 245)
        painter.setFont(fonts["type"])
        type_w = QFontMetrics(fonts["type"]).horizontalAdvance(self.type_name) + 3
        type_w = min(type_w, NODE_W * 0.55)
        painter.setPen(title_color)
        _draw(painter, QRectF(NODE_W - pad - type_w, 0, type_w, TITLE_H), self.type_name, fonts["type"],
              Qt.AlignmentFlag.AlignRight, Qt.TextElideMode.ElideMiddle)  # "Transfo…Layer": both ends tell
        painter.setFont(fonts["title"])
        _draw(painter, QRectF(pad, 0, NODE_W - 3 * pad - type_w, TITLE_H), self.node_id, fonts["title"], Qt.AlignmentFlag.AlignLeft)

        body = fonts["body"]
        painter.setFont(body)
        painter.setPen(theme.text)
        line_h = (NODE_H - TITLE_H - 4) / 2
        _draw(painter, QRectF(pad, TITLE_H + 2, NODE_W - 2 * pad, line_h), self.key_text or " ", body, Qt.AlignmentFlag.AlignLeft)
        shape_color = theme.error if self.severity == "error" and not self.shape_text.startswith("[") else theme.muted
        painter.setPen(shape_color)
        bottom = QRectF(pad, TITLE_H + 2 + line_h, NODE_W - 2 * pad, line_h)
        params_w = QFontMetrics(body).horizontalAdvance(self.params_text) if self.params_text else 0
        shape_rect = QRectF(bottom.left(), bottom.top(), bottom.width() - params_w - 6, line_h)
        _draw(painter, shape_rect, self.shape_text, body, Qt.AlignmentFlag.AlignLeft)
        if self.params_text:
            painter.setPen(theme.muted)
            _draw(painter, bottom, self.params_text, body, Qt.AlignmentFlag.AlignRight)
        if self.strip is not None:
            self._paint_strip(painter, fonts["strip"])

    def _paint_strip(self, painter: QPainter, font: QFont) -> None:
        """A hairline, a status dot and one line of figures in the secondary text colour."""
        theme = self.theme
        text, level = self.strip
        alpha = 120 if self.strip_dimmed else 255
        line = QColor(theme.node_border)
        line.setAlpha(90)
        painter.setPen(QPen(line, 1.0))
        painter.drawLine(QPointF(6, NODE_H), QPointF(NODE_W - 6, NODE_H))
        dot = {"bad": theme.error, "dead": theme.warning}.get(level, theme.muted)
        dot = QColor(dot)
        dot.setAlpha(alpha if level != "ok" else alpha // 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(dot)
        middle = NODE_H + 1 + STRIP_TEXT_H / 2
        painter.drawEllipse(QPointF(12, middle), 3, 3)
        color = QColor(theme.error if level == "bad" else theme.muted)
        color.setAlpha(alpha)
        painter.setPen(color)
        painter.setFont(font)
        _draw(painter, QRectF(20, NODE_H + 1, NODE_W - 26, STRIP_TEXT_H), text, font, Qt.AlignmentFlag.AlignLeft)


def _draw(painter: QPainter, rect: QRectF, text: str, font: QFont, align,
          elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
    elided = QFontMetrics(font).elidedText(text, elide, int(rect.width()))
    painter.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), elided)


_FONTS: dict[str, QFont] = {}


def _fonts() -> dict[str, QFont]:
    if not _FONTS:
        base = QFont()
        size = base.pointSizeF() if base.pointSizeF() > 0 else 9.0
        title = QFont(base)
        title.setPointSizeF(size * 0.95)
        title.setBold(True)
        type_font = QFont(base)
        type_font.setPointSizeF(size * 0.85)
        body = QFont(base)
        body.setPointSizeF(size * 0.88)
        strip = QFont(base)
        strip.setPointSizeF(size * 0.8)
        _FONTS.update(title=title, type=type_font, body=body, strip=strip)
    return _FONTS
