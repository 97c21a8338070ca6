"""The model summary table (node, type, output shape, params, MACs, FLOPs, memory, totals), live.

Each FLOPs figure says where it came from ("formula" or "counted" by torch); the totals
name the input size they are per, and the footer estimates training memory at the
project's batch size, refreshed after every edit of the training settings too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

COLUMNS = ("Node", "Type", "Output shape", "Params", "MACs", "FLOPs", "FLOPs by", "Param mem", "Act mem fp32",
           "Act mem")  # the last one names the training dtype (core.summary.NodeStats.cells)
TIPS = {
    4: "Multiply-accumulates per sample (at the Input size in the totals)",
    5: "Floating-point operations per sample: 2 × MACs, as torch.utils.flop_counter counts them",
    6: "formula: the layer's own formula; counted: torch's FlopCounterMode on a meta-tensor forward",
    7: "Parameters in fp32",
    8: "This node's output for one sample, in fp32",
    9: "This node's output for one sample, in the dtype training uses (training.amp)",
}
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT_COLUMNS = (0, 1, 2, 6)


class SummaryPanel(QWidget):
    node_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for col, tip in TIPS.items():
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.totals = QLabel(self)
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)
        layout.addWidget(self.totals)
        self.table.cellClicked.connect(self._clicked)
        self.document = None

    def set_document(self, document) -> None:
        if self.document is not None:
            self.document.inferred.disconnect(self.refresh)
            self.document.undo_stack.indexChanged.disconnect(self._settings_maybe_changed)
        self.document = document
        document.inferred.connect(self.refresh)
        document.undo_stack.indexChanged.connect(self._settings_maybe_changed)
        self.refresh()

    def _training(self) -> dict:
        training = self.document.project.training
        return training if isinstance(training, dict) else {}

    def refresh(self, *_args) -> None:
        try:
            summary = self.document.summary()
        except Exception as exc:  # never leave a stale table behind a failure
            self.table.setRowCount(0)
            self.totals.setText(f"Summary unavailable: {exc}")
            return
        from workbench.core.training_memory import training_dtype

        dtype = training_dtype(self._training())[0]
        if self.table.horizontalHeaderItem(9).text() != f"Act mem {dtype}":
            self.table.horizontalHeaderItem(9).setText(f"Act mem {dtype}")
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(summary.nodes))
        for row, stats in enumerate(summary.nodes):
            for col, text in enumerate(stats.cells(dtype)):
                item = self.table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    if col not in LEFT_COLUMNS:
                        item.setTextAlignment(RIGHT)
                    self.table.setItem(row, col, item)
                if item.text() != text:
                    item.setText(text)
        self.table.setUpdatesEnabled(True)
        if self.table.columnWidth(0) < 60 or not getattr(self, "_sized", False):
            self.table.resizeColumnsToContents()
            self._sized = True
        self._show_totals(summary)

    def _settings_maybe_changed(self, *_args) -> None:
        """An undo step may have changed the training dtype, batch size or optimizer shown
        (the summary itself is cached, so this only rewrites the cells that changed)."""
        self.refresh()

    def _show_totals(self, summary) -> None:
        from workbench.core.lm_size import token_model_size
        from workbench.core.summary import si

        if summary.total_flops is None:
            compute = "MACs n/a · FLOPs n/a"
        else:
            counted = f"; {summary.counted} counted by torch" if summary.counted else ""
            compute = (f"{si(summary.total_macs)}MACs · {si(summary.total_flops)}FLOPs (2 × MACs{counted}) "
                       f"{summary.per_sample()}")
        lines = [f"Total: {summary.total_params:,} parameters ({summary.trainable_params:,} trainable) · {compute}",
                 _sentence(summary.training_memory(self._training()).line())]
        size = token_model_size(self.document.graph, self.document.result, summary)
        self.totals.setText("\n".join([*lines, *size.lines()[:2]]) if size is not None else "\n".join(lines))

    def rows(self) -> list[list[str]]:
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())] for r in range(self.table.rowCount())
        ]

    def _clicked(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.node_clicked.emit(item.text())


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
