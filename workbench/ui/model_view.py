"""A read-only window showing a project's layers, shapes, parameters and problems."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
)

from workbench.core.project import Project
from workbench.core.shapes import ERROR, infer_shapes
from workbench.core.summary import summarize

COLUMNS = ("Node", "Type", "Output shape", "Params", "FLOPs")


class ModelView(QMainWindow):
    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        name = project.path.name if project.path else project.name
        self.setWindowTitle(f"{name} — Model Workbench")
        self.resize(900, 600)
        result = infer_shapes(project.graph)
        summary = summarize(project.graph, result)

        self.table = QTableWidget(len(summary.nodes), len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, stats in enumerate(summary.nodes):
            flops = "n/a" if stats.flops is None else f"{stats.flops:,}"
            params = "" if stats.params is None else f"{stats.params:,}"
            for col, text in enumerate((stats.id, stats.type, stats.shape, params, flops)):
                item = QTableWidgetItem(text)
                if col >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setCentralWidget(self.table)

        self.problems = QListWidget(self)
        for d in result.diagnostics:
            QListWidgetItem(f"{d.severity}: {d.node_id or 'model'}: {d.message}", self.problems)
        dock = QDockWidget("Problems", self)
        dock.setObjectName("problems")
        dock.setWidget(self.problems)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)

        errors = sum(d.severity == ERROR for d in result.diagnostics)
        total_flops = "n/a" if summary.total_flops is None else f"{summary.total_flops:,}"
        self.statusBar().showMessage(
            f"{len(summary.nodes)} nodes · {summary.total_params:,} parameters · {total_flops} FLOPs per sample"
            f" · {errors} error(s) — read-only view; the graph editor is coming"
        )
