"""The problems list: every diagnostic, errors first; clicking one selects its node."""

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

    def set_document(self, document) -> None:
        if self.document is not None:
            self.document.inferred.disconnect(self.refresh)
        self.document = document
        document.inferred.connect(self.refresh)
        self.refresh(document.result)

    def refresh(self, result) -> None:
        self.clear()
        style = self.style()
        icons = {
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        ordered = sorted(result.diagnostics, key=lambda d: d.severity != "error")
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
