"""Renaming a node from the inspector: undoable, edges and ties follow, bad ids refused at the field, run diffs match it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from workbench.core.diff import diff_graphs
from workbench.core.graph import Edge, Graph
from workbench.core.project import load_project, project_from_dict, save_project
from workbench.core.rename import RenameNode
from workbench.paths import EXAMPLES


def _rename_in_field(qtbot, window, node_id: str, new: str):
    window.scene.select_nodes([node_id])
    field = window.inspector.id_field
    assert field is not None and field.edit.text() == node_id
    field.edit.selectAll()
    QTest.keyClicks(field.edit, new)
    QTest.keyClick(field.edit, Qt.Key.Key_Return)
    qtbot.wait(20)
    return field


def test_rename_from_the_inspector_is_one_undo_step_and_edges_follow(qtbot, window):
    graph = window.document.graph
    before = graph.to_dict()
    _rename_in_field(qtbot, window, "conv", "features")
    assert "conv" not in graph and "features" in graph
    assert Edge("image", "features") in graph.edges and Edge("features", "flat") in graph.edges
    assert list(graph.nodes)[1] == "features"  # same place in the file
    assert graph.node("features").extra["renamed_from"] == ["conv"]
    assert "features" in window.scene.nodes and Edge("features", "flat") in window.scene.edges
    assert window.scene.selected_node_ids() == ["features"]
    assert window.inspector.node_id == "features" and window.inspector.id_field.edit.text() == "features"
    window.document.flush()
    assert window.scene.nodes["flat"].shape_text == "[N, 144]"
    assert window.document.undo_stack.count() == 1
    window.actions_.undo.trigger()
    assert graph.to_dict() == before


def test_invalid_or_taken_ids_are_refused_at_the_field(qtbot, window):
    graph = window.document.graph
    for bad, words in (("fc", "already exists"), ("2conv", "must start with a letter"), ("class", "reserved")):
        field = _rename_in_field(qtbot, window, "conv", bad)
        assert "conv" in graph and field.message.isVisible() and words in field.message.text(), bad
        QTest.keyClick(field.edit, Qt.Key.Key_Escape)
        assert field.edit.text() == "conv" and not field.message.isVisible()
    assert not window.document.undo_stack.canUndo()


def test_rename_follows_weight_ties_and_a_run_diff_shows_a_rename(tmp_path):
    project = load_project(EXAMPLES / "gpt_char.wbproj")
    graph = project.graph
    head = next(n.id for n in graph if n.params.get("tie_weight") == "embed")
    trained = graph.to_dict()
    RenameNode("embed", "table").redo(graph)
    assert graph.node(head).params["tie_weight"] == "table"
    RenameNode("table", "wte").redo(graph)
    saved = load_project(save_project(project, tmp_path / "p.wbproj")).graph.to_dict()  # the history is kept
    diff = diff_graphs(trained, saved)
    assert not diff.added and not diff.removed and not diff.edges_added and not diff.edges_removed
    (renamed,) = [c for c in diff.changed if c.old_id]
    assert (renamed.old_id, renamed.id) == ("embed", "wte")
    assert "renamed from embed" in renamed.text()
    back = diff_graphs(saved, trained)  # comparing the other way round: the later run holds the history
    assert [(c.old_id, c.id) for c in back.changed if c.old_id] == [("wte", "embed")]
    assert not back.added and not back.removed and not back.edges_added


def test_undo_of_a_rename_restores_the_history_and_refuses_a_taken_id():
    graph = Graph.from_dict({"nodes": [{"id": "a", "type": "ReLU", "renamed_from": ["x"]}, {"id": "b", "type": "ReLU"}],
                             "edges": [{"source": "a", "target": "b"}]})
    before = graph.to_dict()
    command = RenameNode("a", "c")
    command.redo(graph)
    assert graph.node("c").extra["renamed_from"] == ["x", "a"]
    command.undo(graph)
    assert graph.to_dict() == before
    try:
        RenameNode("a", "b").redo(graph)
    except Exception as exc:
        assert "already exists" in str(exc)
    else:
        raise AssertionError("renaming onto a taken id must be refused")
    assert graph.to_dict() == before
