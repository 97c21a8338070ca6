"""What the docks that use a trained model share: their place beside the Inspector, and the
weights they offer (every weights file of the open project's runs, newest run first)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

__all__ = ["install_side_dock", "runs_root", "run_weights"]


def install_side_dock(window, dashboard, title: str, name: str, panel) -> QDockWidget:
    """Tab `panel` with the Inspector, list it in the Panels menu, and call its `refresh`
    when another project opens or a run ends."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    inspector = window.docks.get("inspector")
    if inspector is not None:
        window.tabifyDockWidget(inspector, dock)
        inspector.raise_()
    window.docks[name] = dock
    if getattr(window, "panels_menu", None) is not None:
        window.panels_menu.addAction(dock.toggleViewAction())
    hook = getattr(window, "document_changed", None)
    if hook is not None:
        hook.connect(panel.refresh)
    dashboard.run_ended.connect(lambda _state: panel.refresh())
    return dock


def runs_root(window, dashboard) -> Path | None:
    """Where the open project's runs are, as the Runs dock finds them."""
    document = window.document
    if document is None:
        return None
    from workbench.training.runs import project_runs_dir

    return project_runs_dir(dashboard.runs_dir, document.project)


def run_weights(window, dashboard) -> list[tuple[str, str]]:
    """(label, weights file) of every run of the open project, newest first."""
    root = runs_root(window, dashboard)
    if root is None or not root.is_dir():
        return []
    from workbench.ui.export_dialog import weight_choices

    return [(label, path) for label, path in weight_choices(window.document.project, root) if path is not None]
