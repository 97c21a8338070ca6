"""The problems list: every diagnostic, errors first; clicking one selects its node.

Two kinds arrive: the graph's own (shape inference, after every edit) and the mismatches
between the graph and its data (the Data dock's check, off the UI thread, a moment
later: an Input shape the samples do not have, an Output that does not give one value
per class). Both show here and count in the status bar as soon as they exist.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle

NODE_ROLE = Qt.ItemDataRole.UserRole


class ProblemsPanel(QListWidget):
    node_clicked = Signal(str)
    count_changed = Signal(int, int)  # errors, warnings

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.itemClicked.connect(self._clicked)
        self.itemActivated.connect(self._clicked)
        self.document = None
        self.result = None
        self.data_diagnostics: list = []  # the latest data check's, see set_data_diagnostics

    def set_document(self, document) -> None:
        if self.document is not None:
            self.document.inferred.disconnect(self.refresh)
        self.document = document
        self.data_diagnostics = []
        document.inferred.connect(self.refresh)
        self.refresh(document.result)

    def set_data_diagnostics(self, diagnostics: list) -> None:
        """The graph-versus-data mismatches of the latest data check (replacing the last ones)."""
        self.data_diagnostics = list(diagnostics)
        if self.result is not None:
            self.refresh(self.result)

    def diagnostics(self) -> list:
        """Everything shown: the graph's diagnostics, then the data's on nodes that still exist."""
        shown = list(self.result.diagnostics) if self.result is not None else []
        seen = {(d.node_id, d.message) for d in shown}
        nodes = self.document.graph.nodes if self.document is not None else {}
        for d in self.data_diagnostics:
            if (d.node_id is None or d.node_id in nodes) and (d.node_id, d.message) not in seen:
                shown.append(d)
        return shown

    def refresh(self, result) -> None:
        self.result = result
        self.clear()
        style = self.style()
        icons = {
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        ordered = sorted(self.diagnostics(), key=lambda d: d.severity != "error")
        for d in ordered:
            where = d.node_id or "model"
            field = f" ({d.field})" if d.field else ""
            item = QListWidgetItem(icons.get(d.severity, icons["warning"]), f"{where}{field}: {d.message}")
            item.setData(NODE_ROLE, d.node_id)
            item.setToolTip(f"{d.severity}: {d.message}")
            self.addItem(item)
        if not ordered:
            item = QListWidgetItem("No problems: the model compiles.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(item)
        errors = sum(d.severity == "error" for d in ordered)
        self.count_changed.emit(errors, len(ordered) - errors)

    def messages(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]

    def _clicked(self, item: QListWidgetItem) -> None:
        node_id = item.data(NODE_ROLE)
        if node_id:
            self.node_clicked.emit(node_id)
