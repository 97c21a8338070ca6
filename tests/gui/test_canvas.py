"""The canvas, driven by mouse and keyboard like a user: drop, connect, move, delete, paste."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import mouse_drag, settle, view_point
from workbench.core.graph import Edge


def _drop(window, type_name: str, scene_pos: QPointF) -> None:
    """What a palette drag delivers: the palette's own mime data, dropped on the viewport."""
    item = window.palette_panel.item_for(type_name)
    mime: QMimeData = window.palette_panel.tree.mimeData([item])
    viewport = window.view.viewport()
    pos = QPointF(view_point(window, scene_pos))
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(pos.toPoint(), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)


def _out_port(window, node_id, index=0):
    return window.scene.nodes[node_id].outputs[index].scenePos()


def _in_port(window, node_id, index=0):
    return window.scene.nodes[node_id].inputs[index].scenePos()


def test_drop_from_palette_adds_a_node_at_the_drop_point_and_undo_removes_it(window):
    graph = window.document.graph
    _drop(window, "ReLU", QPointF(420, 400))
    added = [n for n in graph if n.type == "ReLU"]
    assert len(added) == 1
    x, y = added[0].pos
    assert abs(x + 98 - 420) <= 20 and abs(y + 33 - 400) <= 20  # centred on the drop, grid-snapped
    assert added[0].id in window.scene.nodes
    assert window.scene.selected_node_ids() == [added[0].id]
    window.actions_.undo.trigger()
    assert not graph.nodes_of_type("ReLU") and added[0].id not in window.scene.nodes
    window.actions_.redo.trigger()
    assert graph.nodes_of_type("ReLU")


def test_connect_two_ports_by_mouse_shows_the_shape_on_the_edge(window):
    graph = window.document.graph
    _drop(window, "ReLU", QPointF(420, 430))
    relu = graph.nodes_of_type("ReLU")[0].id
    mouse_drag(window, _out_port(window, "conv"), _in_port(window, relu) + QPointF(6, -8))  # snaps
    edge = Edge("conv", relu)
    assert edge in graph.edges
    settle(window)
    assert window.scene.edges[edge].label.text == "[N, 4, 6, 6]"
    assert window.scene.nodes[relu].shape_text == "[N, 4, 6, 6]"
    window.actions_.undo.trigger()
    assert edge not in graph.edges and edge not in window.scene.edges
    window.actions_.redo.trigger()
    assert edge in graph.edges


def test_dropping_a_link_on_empty_space_cancels(window):
    before = list(window.document.graph.edges)
    mouse_drag(window, _out_port(window, "conv"), QPointF(700, 700))
    assert window.document.graph.edges == before
    assert not window.document.undo_stack.canUndo()


def test_a_refused_link_says_why_in_the_status_bar(window):
    mouse_drag(window, _out_port(window, "fc"), _in_port(window, "conv"))  # fc is downstream of conv
    assert Edge("fc", "conv") not in window.document.graph.edges
    message = window.statusBar().currentMessage()
    assert "conv" in message and ("cycle" in message or "already fed" in message)


def test_a_wrong_link_marks_the_node_that_cannot_take_it(window):
    mouse_drag(window, _out_port(window, "image"), _in_port(window, "lstm"))
    assert Edge("image", "lstm") in window.document.graph.edges
    settle(window)
    lstm, image = window.scene.nodes["lstm"], window.scene.nodes["image"]
    assert lstm.severity == "error"
    assert "LSTM" in lstm.toolTip() and "error" in lstm.toolTip()
    assert image.severity is None
    assert any(m.startswith("lstm") for m in window.problems.messages())


def test_rewiring_an_input_moves_the_link(window):
    graph = window.document.graph
    mouse_drag(window, _in_port(window, "flat"), _in_port(window, "lstm"))  # pick up conv -> flat
    assert Edge("conv", "flat") not in graph.edges and Edge("conv", "lstm") in graph.edges
    window.actions_.undo.trigger()
    assert Edge("conv", "flat") in graph.edges and Edge("conv", "lstm") not in graph.edges


def test_variadic_merge_offers_one_free_port(window):
    graph = window.document.graph
    _drop(window, "Add", QPointF(420, 600))
    add = graph.nodes_of_type("Add")[0].id
    assert len(window.scene.nodes[add].inputs) == 2
    mouse_drag(window, _out_port(window, "fc"), _in_port(window, add, 0))
    mouse_drag(window, _out_port(window, "conv"), _in_port(window, add, 1))
    assert len(window.scene.nodes[add].inputs) == 3  # a third, free port appeared
    window.actions_.undo.trigger()
    assert len(window.scene.nodes[add].inputs) == 2


def test_moving_nodes_is_one_undo_step_and_snaps_to_the_grid(window):
    graph = window.document.graph
    item = window.scene.nodes["lstm"]
    start = item.pos() + QPointF(60, 10)  # on the title, away from the ports
    mouse_drag(window, start, start + QPointF(93, 47), steps=6)
    x, y = graph.node("lstm").pos
    assert (x % 20, y % 20) == (0, 0) and (x, y) != (400, 120)
    assert window.document.undo_stack.count() == 1
    window.actions_.undo.trigger()
    assert graph.node("lstm").pos == (400.0, 120.0)
    assert item.pos() == QPointF(400, 120)


def test_click_rubber_band_and_select_all(window):
    scene = window.scene
    item = scene.nodes["fc"]
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(window, item.pos() + QPointF(60, 40)))
    assert scene.selected_node_ids() == ["fc"]
    assert "fc" in window.inspector.title.text()
    mouse_drag(window, QPointF(-40, -30), QPointF(250, 200))  # around image and conv
    assert sorted(scene.selected_node_ids()) == ["conv", "image"]
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(scene.selected_node_ids()) == len(window.document.graph)


def test_delete_selection_with_its_edges_then_undo_restores_everything(window):
    graph = window.document.graph
    before = graph.to_dict()
    window.scene.select_nodes(["conv", "flat"])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert "conv" not in graph and "flat" not in graph
    assert all("conv" not in (e.source, e.target) for e in graph.edges)
    assert window.document.undo_stack.count() == 1
    window.actions_.undo.trigger()
    assert graph.to_dict() == before
    assert set(window.scene.nodes) == set(graph.nodes) and len(window.scene.edges) == len(graph.edges)


def test_copy_paste_and_duplicate_make_new_ids_with_internal_edges(window):
    graph = window.document.graph
    window.scene.select_nodes(["conv", "flat"])
    window.actions_.copy.trigger()
    window.actions_.paste.trigger()
    new = sorted(window.scene.selected_node_ids())
    assert len(new) == 2 and not set(new) & {"conv", "flat"}
    types = sorted(graph.node(n).type for n in new)
    assert types == ["Conv2d", "Flatten"]
    conv_copy = next(n for n in new if graph.node(n).type == "Conv2d")
    flat_copy = next(n for n in new if graph.node(n).type == "Flatten")
    assert Edge(conv_copy, flat_copy) in graph.edges
    assert graph.node(conv_copy).params == graph.node("conv").params
    assert window.document.undo_stack.count() == 1
    QTest.keyClick(window.view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(graph) == 10
    window.actions_.undo.trigger()
    window.actions_.undo.trigger()
    assert len(graph) == 6


def test_auto_layout_is_one_undo_step(window):
    graph = window.document.graph
    before = {n.id: n.pos for n in graph}
    window.actions_.auto_layout.trigger()
    after = {n.id: n.pos for n in graph}
    assert after != before
    chain = ["image", "conv", "flat", "fc", "out"]
    assert sorted(chain, key=lambda n: (after[n][0], after[n][1])) == chain  # down, then on in the next column
    from workbench.core.layout import layout

    size = window.view.viewport().size()
    assert after == layout(graph, (size.width(), size.height()))  # laid out for this canvas
    assert window.document.undo_stack.count() == 1
    window.actions_.undo.trigger()
    assert {n.id: n.pos for n in graph} == before


def test_zoom_wheel_and_fit(window):
    view = window.view
    scale = view.transform().m11()
    view.zoom_by(1.5)
    assert abs(view.transform().m11() - scale * 1.5) < 1e-6
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_F)
    rect = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in window.scene.nodes.values():
        assert rect.contains(item.sceneBoundingRect())


def test_skip_connection_is_routed_around_nodes(make_window):
    from workbench.paths import EXAMPLES

    window = make_window(EXAMPLES / "cifar_resnet_block.wbproj")
    edge = Edge("stem_relu", "b1_add", 0, 1)
    path = window.scene.edges[edge].path()
    for node_id in ("b1_conv1", "b1_bn1", "b1_relu1", "b1_conv2", "b1_bn2"):
        rect = window.scene.nodes[node_id].sceneBoundingRect()
        assert not any(rect.contains(path.pointAtPercent(t / 50)) for t in range(51)), node_id


def test_pan_with_the_middle_button_and_with_space_drag(window):
    view, viewport = window.view, window.view.viewport()
    center = view.visible_center()
    a, b = viewport.rect().center(), viewport.rect().center() + QPoint(-120, -80)
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(viewport, b)
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, b)
    moved = view.visible_center()
    assert moved.x() > center.x() + 60 and moved.y() > center.y() + 40
    view.setFocus()
    QTest.keyPress(view, Qt.Key.Key_Space)
    mouse_drag(window, view.mapToScene(a), view.mapToScene(b))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.visible_center().x() > moved.x() + 60
    assert not window.scene.selected_node_ids() and not window.document.undo_stack.canUndo()


def test_canvas_follows_a_switch_to_a_dark_palette(window):
    from PySide6.QtGui import QColor, QPalette

    light = window.scene.backgroundBrush().color()
    palette = QPalette(QColor(40, 40, 40))
    app = QApplication.instance()
    old = app.palette()
    try:
        app.setPalette(palette)
        QApplication.processEvents()
        dark = window.scene.backgroundBrush().color()
        assert dark.lightness() < 100 < light.lightness()
        assert window.scene.nodes["conv"].theme.dark
    finally:
        app.setPalette(old)


def test_click_an_edge_and_delete_it(window):
    edge = Edge("flat", "fc")
    item = window.scene.edges[edge]
    point = item.path().pointAtPercent(0.2)
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(window, point))
    assert window.scene.selected_edges() == [edge]
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert edge not in window.document.graph.edges
    settle(window)
    assert window.scene.nodes["fc"].severity == "error"  # its input is gone
    window.actions_.undo.trigger()
    assert edge in window.document.graph.edges


def test_delete_key_in_the_inspector_does_not_delete_the_node(window):
    window.scene.select_nodes(["conv"])
    combo = window.inspector.rows["padding_mode"].editor.combo
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Delete)
    assert "conv" in window.document.graph
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert "conv" not in window.document.graph
