"""The summary dock and the inspector show MACs and FLOPs (labelled, per sample at the input
size), where each figure came from, memory per node, and the training-memory footer, which
follows the Training settings."""

from __future__ import annotations

from tests.gui.conftest import settle
from workbench.ui.settings_panels.common import SectionCommand


def test_summary_dock_columns_and_footer(window):
    panel = window.summary
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]
    assert headers[3:7] == ["Params", "MACs", "FLOPs", "FLOPs by"] and headers[-1] == "Act mem bf16"
    conv = next(r for r in panel.rows() if r[0] == "conv")  # 4 filters of 3x3 over 6x6 positions
    assert conv[4] == f"{4 * 9 * 36:,}" and conv[5] == f"{2 * 4 * 9 * 36:,}" and conv[6] == "formula"
    assert conv[7] == "160 B" and conv[8] == "576 B" and conv[9] == "288 B"
    text = panel.totals.text()
    assert "MACs" in text and "FLOPs (2 × MACs)" in text and "per sample at [1, 8, 8]" in text
    assert "Estimated training memory at batch 64" in text

    document = window.document
    training = {**document.project.training, "batch_size": 8, "amp": False}
    document.undo_stack.push(SectionCommand(document.project, "training", training, ("training", "batch_size"), "batch"))
    settle(window)
    assert "at batch 8" in panel.totals.text() and "(fp32, amp off)" in panel.totals.text()
    assert [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())][-1] == "Act mem fp32"
    document.undo_stack.undo()
    assert "at batch 64" in panel.totals.text()


def test_inspector_shows_the_nodes_figures(window):
    window.scene.select_nodes(["fc"])
    text = window.inspector.io_label.text()
    assert "1,450 parameters (5.8 kB fp32)" in text
    assert "1.44 kMACs = 2.88 kFLOPs (formula) per sample at [1, 8, 8]" in text
    assert "output 40 B fp32, 20 B bf16 per sample" in text
