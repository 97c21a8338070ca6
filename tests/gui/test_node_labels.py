"""What a node says at a glance: long type names keep both ends, an error shows its first line."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from tests.gui.conftest import settle
from workbench.ui.canvas import node_item


def test_a_node_with_an_error_shows_the_message_not_a_question_mark(window):
    window.document.graph.add_node("lonely", "Linear", {"out_features": 4}, pos=(600, 0))
    settle(window)
    item = window.scene.nodes["lonely"]
    assert item.severity == "error"
    assert item.shape_text not in ("", "?") and not item.shape_text.startswith("[")
    assert item.shape_text.splitlines() == [item.shape_text]  # one line on the node
    assert item.shape_text in item.toolTip()  # the full text stays in the tooltip


def test_long_type_names_are_cut_in_the_middle(window, monkeypatch):
    window.document.graph.add_node("dec", "TransformerDecoderLayer", {}, pos=(600, 0))
    settle(window)
    drawn = []
    real = node_item._draw

    def record(painter, rect, text, font, align, elide=Qt.TextElideMode.ElideRight):
        drawn.append((text, QFontMetrics(font).elidedText(text, elide, int(rect.width()))))
        real(painter, rect, text, font, align, elide)

    monkeypatch.setattr(node_item, "_draw", record)
    image = QImage(400, 200, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    window.scene.nodes["dec"].paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    (shown,) = [cut for text, cut in drawn if text == "TransformerDecoderLayer"]
    assert shown != "TransformerDecoderLayer" and shown.startswith("Tr") and shown.endswith("Layer")
