"""Blocks in the editor: group the selection via the action, open, ungroup, reuse, save and re-open."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog

from tests.gui.conftest import settle, view_point


def _group(window, monkeypatch, name="Features"):
    asked = []

    def get_text(parent, title, label, *args, **kwargs):
        asked.append(title)
        return name, True

    monkeypatch.setattr(QInputDialog, "getText", get_text)
    window.scene.select_nodes(["conv", "flat"])
    window.actions_.group.trigger()
    settle(window)
    assert asked == ["Group into Block"]
    blocks = window.document.graph.nodes_of_type("Block")
    assert len(blocks) == 1
    return blocks[0].id


def test_group_selected_nodes_shows_one_block_node_and_ungroup_restores(window, monkeypatch):
    graph = window.document.graph
    before = graph.to_dict()
    shape_before = window.scene.nodes["fc"].shape_text
    block = _group(window, monkeypatch)
    assert "conv" not in window.scene.nodes and "flat" not in window.scene.nodes
    assert block in window.scene.nodes
    item = window.scene.nodes[block]
    assert len(item.inputs) == 1 and len(item.outputs) == 1
    assert item.key_text == "Features"
    assert item.shape_text == "[N, 144]"
    assert window.scene.nodes["fc"].shape_text == shape_before
    assert not [d for d in window.document.result.errors if d.node_id != "lstm"]  # lstm: unconnected in SMALL
    assert window.palette_panel.item_for("Block:Features") is not None

    window.actions_.undo.trigger()
    settle(window)
    assert graph.to_dict() == before and "conv" in window.scene.nodes and block not in window.scene.nodes
    window.actions_.redo.trigger()
    settle(window)

    window.scene.select_nodes([block])
    window.actions_.ungroup.trigger()
    settle(window)
    assert {n.id for n in graph} == {n["id"] for n in before["nodes"]}
    assert {(e.source, e.target) for e in graph.edges} == {(e["source"], e["target"]) for e in before["edges"]}
    assert "conv" in window.scene.nodes and block not in window.scene.nodes
    assert window.scene.nodes["fc"].shape_text == shape_before
    window.actions_.undo.trigger()
    settle(window)
    assert block in window.scene.nodes


def test_double_click_opens_the_inner_graph_for_editing(window, monkeypatch, qtbot):
    block = _group(window, monkeypatch)
    item = window.scene.nodes[block]
    window.view.centerOn(item)
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      view_point(window, item.center()))
    dialog = window.scene.block_dialog  # a child of the window, deleted when closed
    assert dialog.block_name == "Features"
    assert set(dialog.scene.nodes) >= {"conv", "flat"}
    assert dialog.view.isInteractive()  # editable in place: tests/gui/test_canvas_blocks.py
    assert dialog.scene.nodes["flat"].shape_text == "[N, 144]"
    dialog.close()


def test_block_from_the_palette_adds_another_instance(window, monkeypatch):
    _group(window, monkeypatch)
    graph = window.document.graph
    window.scene.select_nodes([])
    window.palette_panel.activated.emit("Block:Features")
    settle(window)
    blocks = graph.nodes_of_type("Block")
    assert len(blocks) == 2 and all(b.params == {"block": "Features"} for b in blocks)


def test_save_and_reopen_keeps_the_block(window, make_window, monkeypatch, dialogs, tmp_path):
    block = _group(window, monkeypatch)
    target = tmp_path / "blocks.wbproj"
    dialogs.save_path = str(target)
    assert window.files.save()
    again = make_window(target)
    settle(again)
    assert again.document.graph.to_dict() == window.document.graph.to_dict()
    assert again.document.graph.blocks == window.document.graph.blocks
    assert block in again.scene.nodes
    assert again.scene.nodes[block].shape_text == "[N, 144]"
    assert again.palette_panel.item_for("Block:Features") is not None
