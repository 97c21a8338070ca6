"""The model summary table (node, type, output shape, params, FLOPs, totals), live."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

COLUMNS = ("Node", "Type", "Output shape", "Params", "FLOPs")
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class SummaryPanel(QWidget):
    node_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.totals = QLabel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)
        layout.addWidget(self.totals)
        self.table.cellClicked.connect(self._clicked)
        self.document = None

    def set_document(self, document) -> None:
        if self.document is not None:
            self.document.inferred.disconnect(self.refresh)
        self.document = document
        document.inferred.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args) -> None:
        try:
            summary = self.document.summary()
        except Exception as exc:  # never leave a stale table behind a failure
            self.table.setRowCount(0)
            self.totals.setText(f"Summary unavailable: {exc}")
            return
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(summary.nodes))
        for row, stats in enumerate(summary.nodes):
            flops = "n/a" if stats.flops is None else f"{stats.flops:,}"
            params = "" if stats.params is None else f"{stats.params:,}"
            for col, text in enumerate((stats.id, stats.type, stats.shape, params, flops)):
                item = self.table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    if col >= 3:
                        item.setTextAlignment(RIGHT)
                    self.table.setItem(row, col, item)
                if item.text() != text:
                    item.setText(text)
        self.table.setUpdatesEnabled(True)
        if self.table.columnWidth(0) < 60 or not getattr(self, "_sized", False):
            self.table.resizeColumnsToContents()
            self._sized = True
        total_flops = "n/a" if summary.total_flops is None else f"{summary.total_flops:,}"
        text = (f"Total: {summary.total_params:,} parameters ({summary.trainable_params:,} trainable) · "
                f"{total_flops} FLOPs per sample")
        from workbench.core.lm_size import token_model_size

        size = token_model_size(self.document.graph, self.document.result, summary)
        self.totals.setText("\n".join([text, *size.lines()[:2]]) if size is not None else text)

    def rows(self) -> list[list[str]]:
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())] for r in range(self.table.rowCount())
        ]

    def _clicked(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.node_clicked.emit(item.text())
