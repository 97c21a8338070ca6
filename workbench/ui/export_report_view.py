"""The Export dialog's result: a coloured headline, then what was written and verified."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

__all__ = ["ReportView", "format_size", "OK_COLOUR", "FAILED_COLOUR", "ERROR_COLOUR"]

OK_COLOUR, FAILED_COLOUR, ERROR_COLOUR = "#2e8b57", "#c77c02", "#d23c3c"


def format_size(n: int) -> str:
    return QLocale().formattedDataSize(n, 1, QLocale.DataSizeFormat.DataSizeSIFormat)


class ReportView(QWidget):
    """The outcome in a few labelled lines: a coloured headline, then what was written and verified."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel("")
        self.headline.setObjectName("export_headline")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.rows: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addLayout(self.form)

    def clear(self, hint: str = "") -> None:
        """Empty the view, leaving `hint` in grey where the headline goes."""
        self.headline.setText(hint)
        self.headline.setStyleSheet("color: gray;")
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = {}

    def show_error(self, message: str, node_id: str | None) -> None:
        self.clear()
        where = f" at node '{node_id}'" if node_id else ""
        hint = " (selected on the canvas)" if node_id else ""
        self._headline(f"✗ Export failed{where}{hint}: {message}", ERROR_COLOUR)

    def show_report(self, report) -> None:
        from workbench.export.report import EXPORTER_TITLES

        self.clear()
        if report.ok:
            self._headline("✓ Exported and verified", OK_COLOUR)
        else:
            self._headline(f"⚠ Exported, but verification failed: {report.failure}", FAILED_COLOUR)
        self._row("File", report.path)
        size = format_size(report.size_bytes)
        if len(report.files) > 1:
            extra = ", ".join(Path(f).name for f in report.files[1:])
            size += f" (with {extra}: {format_size(report.total_bytes)} in all)"
        self._row("Size", size)
        if report.max_abs_diff is not None:
            self._row("Max abs difference", f"{report.max_abs_diff:.3g} vs PyTorch (tolerance {report.tolerance:g})")
        if report.exporter:
            opset = f", opset {report.opset}" if report.opset is not None else ""
            self._row("Exporter", EXPORTER_TITLES.get(report.exporter, report.exporter) + opset)
        if report.fallback:
            self._row("Fallback", report.fallback)
        self._row("Weights", report.weights)
        self._row("Inputs", "; ".join(str(t) for t in report.inputs))
        self._row("Outputs", "; ".join(str(t) for t in report.outputs))
        if report.verified:
            self._row("Verified", _bullets(report.verified))
        if report.notes:
            self._row("Warnings", _bullets(report.notes))
        self._row("Time", ", ".join(f"{k} {v:.2f} s" for k, v in report.seconds.items()))
        if report.report_path:
            self._row("Report", report.report_path)

    def text(self) -> str:
        """Everything shown, as plain lines (for tests and for reading aloud)."""
        return "\n".join([self.headline.text(), *(f"{k}: {v.text()}" for k, v in self.rows.items())])

    def _headline(self, text: str, colour: str) -> None:
        self.headline.setText(text)
        self.headline.setStyleSheet(f"color: {colour}; font-weight: bold;")

    def _row(self, name: str, value: str) -> None:
        label = QLabel(value)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rows[name] = label
        self.form.addRow(f"{name}:", label)


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)
