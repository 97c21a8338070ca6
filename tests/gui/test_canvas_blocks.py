"""Editing a block in place (open, edit, undo, close) and blocks in Quick Add."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.gui.conftest import settle
from tests.gui.test_blocks import _group
from workbench.core.graph import Edge


def _inner_edge_midpoint(dialog, edge):
    return dialog.scene.edges[edge].path().pointAtPercent(0.5)


def test_edit_a_block_in_place_undo_inside_then_one_undo_after_closing(window, monkeypatch, qtbot):
    graph = window.document.graph
    block = _group(window, monkeypatch)
    definition_before = graph.blocks["Features"]
    steps_before = window.document.undo_stack.count()
    dialog = window.scene.open_block(block)
    qtbot.waitExposed(dialog)
    inner = dialog.document.graph
    # drop a ReLU onto the conv -> flat link inside the block
    at = _inner_edge_midpoint(dialog, Edge("conv", "flat"))
    from PySide6.QtCore import QPointF

    relu = dialog.editor.add_layer("ReLU", QPointF(at.x() - 98, at.y() - 33))
    assert relu is not None and Edge("conv", relu) in inner.edges
    saved = graph.blocks["Features"]["graph"]
    assert any(n["type"] == "ReLU" for n in saved["nodes"])  # written back to the project at once
    assert {"source": relu, "target": "flat"} in saved["edges"]
    settle(window)
    assert not [d for d in window.document.result.errors if d.node_id != "lstm"]
    assert window.scene.nodes[block].shape_text == "[N, 144]"
    # a second edit inside: delete the ReLU again, then undo it here
    dialog.scene.select_nodes([relu])
    dialog.delete_action.trigger()
    assert relu not in inner and not any(n["type"] == "ReLU" for n in graph.blocks["Features"]["graph"]["nodes"])
    dialog.undo_action.trigger()
    assert relu in inner and any(n["type"] == "ReLU" for n in graph.blocks["Features"]["graph"]["nodes"])
    assert window.document.undo_stack.count() == steps_before + 1  # every write merged into one project step
    assert window.document.undo_stack.undoText() == "Edit block Features"
    dialog.scene.select_nodes(["conv"])  # its inspector edits the inner layer's parameters
    field = dialog.inspector.id_field.edit
    field.setFocus()
    QTest.keyClick(field, Qt.Key.Key_Backspace)  # edits the text, never deletes the layer
    assert "conv" in inner and field.text() == "con"
    QTest.keyClick(field, Qt.Key.Key_Escape)
    editor = dialog.inspector.rows["out_channels"].editor
    editor.set_value(6)
    editor.edited.emit(6)  # what typing 6 into the field sends
    conv = next(n for n in graph.blocks["Features"]["graph"]["nodes"] if n["id"] == "conv")
    assert conv["params"]["out_channels"] == 6
    settle(window)
    assert window.scene.nodes[block].shape_text == "[N, 216]"
    assert window.document.undo_stack.count() == steps_before + 1
    dialog.close()
    window.actions_.undo.trigger()
    assert graph.blocks["Features"] == definition_before
    window.actions_.redo.trigger()
    assert any(n["type"] == "ReLU" for n in graph.blocks["Features"]["graph"]["nodes"])


def test_an_undo_in_the_main_window_reloads_an_open_block(window, monkeypatch, qtbot):
    block = _group(window, monkeypatch)
    dialog = window.scene.open_block(block)
    dialog.editor.add_layer("ReLU", wire=False)
    assert dialog.document.graph.nodes_of_type("ReLU")
    window.actions_.undo.trigger()  # the block edit, undone from outside
    assert not dialog.document.graph.nodes_of_type("ReLU")
    assert "changed in the main window" in dialog.status.text()
    dialog.close()


def test_quick_add_lists_the_projects_blocks(window, monkeypatch, qtbot):
    graph = window.document.graph
    _group(window, monkeypatch)
    window.scene.select_nodes(["fc"])
    window.actions_.quick_add.trigger()
    popup = window._quick_add
    QTest.keyClicks(popup.edit, "feat")
    assert popup.list.currentItem().text().startswith("Features")
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    blocks = graph.nodes_of_type("Block")
    assert len(blocks) == 2 and all(b.params == {"block": "Features"} for b in blocks)
    added = [b.id for b in blocks if graph.in_edges(b.id)]
    assert any(e.source == "fc" for b in added for e in graph.in_edges(b))
