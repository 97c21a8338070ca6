"""The inspector: typed fields from the schema, live shapes downstream, undo, invalid values."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QSpinBox

from tests.gui.conftest import settle
from workbench.core.graph import Edge
from workbench.ui.param_editors import FloatSpin, IntsEditor, OptionalEditor, PaddingEditor, TextEditor


def _select(window, node_id):
    window.scene.select_nodes([node_id])
    return window.inspector.rows


def _type_into(spin, text):
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, text)


def test_editing_a_param_changes_the_shape_downstream_and_undo_restores_it(window):
    rows = _select(window, "conv")
    spin = rows["out_channels"].editor.spin
    assert isinstance(spin, QSpinBox) and spin.minimum() == 1 and spin.value() == 4
    _type_into(spin, "32")
    settle(window)
    graph = window.document.graph
    assert graph.node("conv").params["out_channels"] == 32
    assert window.scene.nodes["flat"].shape_text == "[N, 1152]"  # 32 * 6 * 6
    assert window.scene.edges[Edge("conv", "flat")].label.text == "[N, 32, 6, 6]"
    assert window.document.undo_stack.count() == 1  # "3" then "32": one merged step
    window.actions_.undo.trigger()
    settle(window)
    assert graph.node("conv").params["out_channels"] == 4
    assert spin.value() == 4
    assert window.scene.nodes["flat"].shape_text == "[N, 144]"
    window.actions_.redo.trigger()
    settle(window)
    assert spin.value() == 32 and window.scene.nodes["flat"].shape_text == "[N, 1152]"


def test_leaving_a_field_ends_the_undo_step(window):
    rows = _select(window, "conv")
    spin = rows["out_channels"].editor.spin
    _type_into(spin, "8")
    spin.editingFinished.emit()
    _type_into(spin, "9")
    assert window.document.undo_stack.count() == 2


def test_form_matches_the_schema(window):
    rows = _select(window, "conv")
    assert isinstance(rows["kernel_size"].editor, IntsEditor) and len(rows["kernel_size"].editor.spins) == 2
    assert isinstance(rows["padding"].editor, PaddingEditor)
    assert isinstance(rows["bias"].editor.box, QCheckBox)
    assert isinstance(rows["padding_mode"].editor.combo, QComboBox)
    rows = _select(window, "image")
    assert isinstance(rows["shape"].editor, TextEditor) and rows["shape"].editor.edit.text() == "1, 8, 8"


def test_tuple_editor_writes_a_kernel_of_two_sizes(window):
    rows = _select(window, "conv")
    spins = rows["kernel_size"].editor.spins
    spins[1].setValue(5)
    settle(window)
    assert window.document.graph.node("conv").params["kernel_size"] == [3, 5]
    assert window.scene.nodes["conv"].shape_text == "[N, 4, 6, 4]"
    spins[1].setValue(3)
    assert window.document.graph.node("conv").params["kernel_size"] == 3


def test_an_invalid_value_is_marked_in_the_field_and_not_applied(window):
    rows = _select(window, "image")
    row = rows["shape"]
    before = window.document.graph.node("image").params["shape"]
    row.editor.edit.setFocus()
    row.editor.edit.selectAll()
    QTest.keyClicks(row.editor.edit, "1, a, 8")
    assert window.document.graph.node("image").params["shape"] == [1]  # the last valid text, "1"
    assert row.message.isVisibleTo(window.inspector) and "whole numbers" in row.message.text()
    assert window.document.undo_stack.count() == 1
    window.actions_.undo.trigger()
    assert window.document.graph.node("image").params["shape"] == before
    row.editor.edit.selectAll()
    QTest.keyClicks(row.editor.edit, "1, 10, 10")
    assert window.document.graph.node("image").params["shape"] == [1, 10, 10]
    assert not row.message.isVisibleTo(window.inspector)


def test_a_problem_pinned_on_a_field_is_shown_there(window):
    rows = _select(window, "conv")
    rows["kernel_size"].editor.spins[0].setValue(9)  # 9 > 8: larger than the image
    settle(window)
    assert window.scene.nodes["conv"].severity == "error"
    shown = [r.message.text() for r in rows.values() if r.message.isVisibleTo(window.inspector)]
    general = window.inspector.problems.text()
    assert shown or general  # on the field when core names it, else under the title
    assert any("kernel" in t or "larger" in t or "size" in t for t in shown + [general])


def test_choice_and_bool_edits_are_separate_undo_steps(window):
    rows = _select(window, "conv")
    rows["bias"].editor.box.setChecked(False)
    rows["padding_mode"].editor.combo.setCurrentText("reflect")
    rows["padding_mode"].editor.combo.setCurrentText("circular")
    params = window.document.graph.node("conv").params
    assert params["bias"] is False and params["padding_mode"] == "circular"
    assert window.document.undo_stack.count() == 3


def test_padding_modes_and_reset_to_default(window):
    rows = _select(window, "conv")
    editor = rows["padding"].editor
    editor.mode.setCurrentText("same")
    settle(window)
    assert window.document.graph.node("conv").params["padding"] == "same"
    assert window.scene.nodes["conv"].shape_text == "[N, 4, 8, 8]"
    assert rows["padding"].reset.isEnabled()
    rows["padding"].reset.click()
    assert "padding" not in window.document.graph.node("conv").params
    assert editor.mode.currentText() == "explicit"


def test_optional_params_and_float_fields(window):
    window.editor.add_layer("MaxPool2d", wire=False)
    node_id = window.document.graph.nodes_of_type("MaxPool2d")[0].id
    rows = _select(window, node_id)
    stride = rows["stride"].editor
    assert isinstance(stride, OptionalEditor) and stride.none.isChecked()
    stride.none.setChecked(False)
    assert window.document.graph.node(node_id).params["stride"] == 1
    stride.none.setChecked(True)
    assert "stride" not in window.document.graph.node(node_id).params
    window.editor.add_layer("Dropout", wire=False)
    drop = window.document.graph.nodes_of_type("Dropout")[0].id
    rows = _select(window, drop)
    spin = rows["p"].editor.spin
    assert isinstance(spin, FloatSpin) and spin.maximum() == 1.0
    _type_into(spin, "0.25")
    assert window.document.graph.node(drop).params["p"] == 0.25


def test_nothing_selected_shows_the_project_overview(window):
    window.scene.select_nodes([])
    label = window.inspector.widget()
    assert isinstance(label, QLabel)
    text = label.text()
    assert "small" in text and "Training" in text and "epochs" in text and "Data" in text
    window.scene.select_nodes(["conv", "fc"])
    assert "2 layers selected" in window.inspector.widget().text()


def test_deleting_the_inspected_node_clears_the_form(window):
    _select(window, "lstm")
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert window.inspector.node_id is None
    assert isinstance(window.inspector.widget(), QLabel)
