"""Palette, quick add, summary table, problems list and the code view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import settle
from workbench.core.graph import Edge


def test_palette_groups_by_category_with_tooltips_and_filters(window):
    palette = window.palette_panel
    catalog = window.document.graph.catalog
    groups = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert groups == list(catalog.categories())
    assert "Conv2d" in palette.item_for("Conv2d").toolTip(0)
    assert set(palette.visible_types()) == set(catalog.names())
    QTest.keyClicks(palette.filter, "conv")
    visible = palette.visible_types()
    assert "Conv2d" in visible and "ReLU" not in visible


def test_palette_double_click_adds_below_the_selection_and_connects(window):
    window.scene.select_nodes(["fc"])
    item = window.palette_panel.item_for("ReLU")
    window.palette_panel.tree.itemActivated.emit(item, 0)
    graph = window.document.graph
    relu = graph.nodes_of_type("ReLU")[0]
    assert Edge("fc", relu.id) in graph.edges
    fc = graph.node("fc")
    assert relu.pos[1] > fc.pos[1]
    assert window.scene.selected_node_ids() == [relu.id]
    assert window.document.undo_stack.count() == 1
    window.actions_.undo.trigger()
    assert not graph.nodes_of_type("ReLU")


def test_quick_add_inserts_the_top_match_after_the_selection(window):
    window.scene.select_nodes(["flat"])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    popup = window._quick_add
    assert popup is not None and popup.isVisible()
    QTest.keyClicks(popup.edit, "dropo")
    assert popup.list.currentItem().text().startswith("Dropout")
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    graph = window.document.graph
    drop = graph.nodes_of_type("Dropout")[0].id
    assert Edge("flat", drop) in graph.edges
    assert not popup.isVisible()


def test_summary_table_is_live_and_clicking_a_row_selects_the_node(window):
    rows = window.summary.rows()
    assert [r[0] for r in rows][:2] == ["image", "conv"]
    conv = next(r for r in rows if r[0] == "conv")
    assert conv[2] == "[N, 4, 6, 6]" and conv[3] == "40"
    window.scene.select_nodes(["conv"])
    window.inspector.rows["out_channels"].editor.spin.setValue(8)
    settle(window)
    conv = next(r for r in window.summary.rows() if r[0] == "conv")
    assert conv[2] == "[N, 8, 6, 6]" and conv[3] == "80"
    assert "parameters" in window.summary.totals.text()
    row = [r[0] for r in window.summary.rows()].index("fc")
    window.summary.table.cellClicked.emit(row, 0)
    assert window.scene.selected_node_ids() == ["fc"]


def test_problems_list_and_click_selects_the_node(window):
    messages = window.problems.messages()
    assert any(m.startswith("lstm") and "Output" in m for m in messages)  # unconnected: a warning
    window.scene.select_nodes([])
    item = next(window.problems.item(i) for i in range(window.problems.count()) if window.problems.item(i).text().startswith("lstm"))
    window.problems.itemClicked.emit(item)
    assert window.scene.selected_node_ids() == ["lstm"]
    assert "error" in window.counts.text() or "warning" in window.counts.text()


def test_code_view_shows_generated_pytorch_and_copies_it(digits_window):
    window = digits_window
    window.actions_.code.trigger()
    dialog = window.code_dialog  # a child of the window, deleted when closed
    text = dialog.text.toPlainText()
    assert "class DigitsCnn(nn.Module)" in text and "self.conv1 = nn.Conv2d(" in text
    assert dialog.text.isReadOnly()
    dialog.copy_button.click()
    assert QApplication.clipboard().text() == text
    dialog.close()


def test_code_view_explains_when_the_model_has_errors(window):
    window.actions_.code.trigger()  # the small model's LSTM has no input
    dialog = window.code_dialog
    assert "lstm" in dialog.text.toPlainText() and "errors" in dialog.text.toPlainText() and not dialog.copy_button.isEnabled()
    dialog.close()
