"""The Sweep dock (hyperparameter and architecture search with Optuna) and the
"Search over this…" entry of the Inspector's and Training settings' fields.
`install(window)` adds the dock beside the Runs dock and sets `window.sweep_panel`."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

__all__ = ["install"]


def install(window):
    from workbench.ui.sweep.panel import SweepPanel

    panel = SweepPanel(window)
    dock = QDockWidget("Sweep", window)
    dock.setObjectName("sweep")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    beside = window.docks.get("runs") or window.docks.get("training")
    if beside is not None:
        window.tabifyDockWidget(beside, dock)
    window.docks["sweep"] = dock
    if getattr(window, "panels_menu", None) is not None:
        window.panels_menu.addAction(dock.toggleViewAction())
    hook = getattr(window, "document_changed", None)
    if hook is not None:
        hook.connect(lambda: panel.set_document(window.document))
    window.sweep_panel = panel
    return panel
