"""Canvas edits people expect from node editors: drop a layer on a link, rewire without losing the link."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from tests.gui.conftest import mouse_drag, settle
from tests.gui.test_canvas import _drop, _in_port, _out_port
from workbench.core.graph import Edge


def _midpoint(window, edge: Edge) -> QPointF:
    return window.scene.edges[edge].path().pointAtPercent(0.5)


def test_dragging_a_layer_over_a_link_highlights_it(window):
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
    from PySide6.QtWidgets import QApplication

    from tests.gui.conftest import view_point

    mime = window.palette_panel.tree.mimeData([window.palette_panel.item_for("ReLU")])
    at = view_point(window, _midpoint(window, Edge("conv", "flat")))
    for kind in (QDragEnterEvent, QDragMoveEvent):
        event = kind(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(window.view.viewport(), event)
    marked = [e for e, item in window.scene.edges.items() if item.drop_target]
    assert marked == [Edge("conv", "flat")]


def test_dropping_a_layer_on_a_link_inserts_it_and_one_undo_restores_exactly(window):
    graph = window.document.graph
    before = graph.to_dict()
    _drop(window, "ReLU", _midpoint(window, Edge("conv", "flat")))
    assert not any(item.drop_target for item in window.scene.edges.values())
    (relu,) = [n.id for n in graph if n.type == "ReLU"]
    assert Edge("conv", "flat") not in graph.edges
    assert Edge("conv", relu) in graph.edges and Edge(relu, "flat") in graph.edges
    assert Edge("conv", "flat") not in window.scene.edges and Edge(relu, "flat") in window.scene.edges
    settle(window)
    assert window.scene.nodes[relu].shape_text == "[N, 4, 6, 6]"
    rect = window.scene.nodes[relu].sceneBoundingRect()
    for other in ("conv", "flat", "fc", "out"):  # the nodes below moved down to make room
        assert not rect.intersects(window.scene.nodes[other].sceneBoundingRect().adjusted(3, 3, -3, -3)), other
    assert "Inserted" in window.statusBar().currentMessage()
    assert window.document.undo_stack.count() == 1
    window.actions_.undo.trigger()
    assert graph.to_dict() == before
    window.actions_.redo.trigger()
    assert Edge(relu, "flat") in graph.edges


def test_a_layer_that_cannot_take_the_links_tensor_is_added_unconnected_and_says_why(window):
    graph = window.document.graph
    _drop(window, "LSTM", _midpoint(window, Edge("conv", "flat")))  # [N, 4, 6, 6] into an LSTM: no
    added = [n.id for n in graph if n.type == "LSTM" and n.id != "lstm"]
    assert len(added) == 1
    assert Edge("conv", "flat") in graph.edges and not graph.in_edges(added[0])
    message = window.statusBar().currentMessage()
    assert message.startswith("Not inserted into conv → flat") and "LSTM" in message


def test_releasing_a_picked_link_on_an_output_port_keeps_it_and_says_why(window):
    graph = window.document.graph
    edges = list(graph.edges)
    mouse_drag(window, _in_port(window, "flat"), _out_port(window, "lstm"))  # an output cannot take it
    assert graph.edges == edges
    assert window.scene.edges[Edge("conv", "flat")].isVisible()
    assert not window.document.undo_stack.canUndo()
    message = window.statusBar().currentMessage()
    assert message.startswith("Kept the link conv → flat") and "lstm" in message


def test_releasing_a_picked_link_on_a_port_that_refuses_it_restores_it(window):
    graph = window.document.graph
    edges = list(graph.edges)
    mouse_drag(window, _in_port(window, "flat"), _in_port(window, "out"))  # out is already fed by fc
    assert graph.edges == edges
    assert window.scene.edges[Edge("conv", "flat")].isVisible()
    message = window.statusBar().currentMessage()
    assert message.startswith("Kept the link conv → flat") and "already fed" in message


def test_releasing_a_picked_link_on_empty_canvas_still_removes_it(window):
    mouse_drag(window, _in_port(window, "flat"), QPointF(900, 60))
    assert Edge("conv", "flat") not in window.document.graph.edges
    window.actions_.undo.trigger()
    assert Edge("conv", "flat") in window.document.graph.edges


def test_auto_layout_fits_an_18_layer_model_in_the_canvas_with_its_output(make_window):
    from workbench.paths import EXAMPLES

    window = make_window(EXAMPLES / "speech_mel_cnn.wbproj")
    window.view.resetTransform()
    window.actions_.auto_layout.trigger()
    view = window.view
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(shown.contains(item.sceneBoundingRect()) for item in window.scene.nodes.values())
    one_column = view.viewport().height() / (17 * 120 + 66 + 80)  # the zoom that would fit 18 layers stacked
    assert view.transform().m11() >= 2.5 * one_column
    assert len({item.pos().x() for item in window.scene.nodes.values()}) >= 3
    nodes = window.scene.nodes
    wraps = [e for e in window.scene.edges if nodes[e.target].pos().y() < nodes[e.source].pos().y()]
    assert len(wraps) >= 2  # on to the next column: each up a lane between the two columns
    for edge in wraps:
        lane = window.scene.edges[edge].path()
        left, right = nodes[edge.source].sceneBoundingRect().right(), nodes[edge.target].sceneBoundingRect().left()
        assert any(left < lane.pointAtPercent(t / 20).x() < right for t in range(21)), edge
