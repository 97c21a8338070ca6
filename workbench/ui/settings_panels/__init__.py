"""The settings docks (Training settings, Data). `install(window)` adds them, tabbed with
the Inspector; `SettingsPanels.set_document` follows the window's document."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from workbench.ui.settings_panels.data_panel import DataPanel
from workbench.ui.settings_panels.training_panel import TrainingPanel

__all__ = ["install", "SettingsPanels", "DataPanel", "TrainingPanel"]


class SettingsPanels:
    def __init__(self, training: TrainingPanel, data: DataPanel) -> None:
        self.training = training
        self.data = data

    def set_document(self, document) -> None:
        self.training.set_document(document)
        self.data.set_document(document)


def install(window) -> SettingsPanels:
    panels = SettingsPanels(TrainingPanel(), DataPanel())
    problems = getattr(window, "problems", None)
    if problems is not None:  # the data's mismatches with the graph show as problems on their nodes
        panels.data.diagnostics_changed.connect(problems.set_data_diagnostics)
    panels.data.checked.connect(lambda messages: _fixed(window, messages))
    inspector = window.docks.get("inspector")
    for name, title, widget in (("training_settings", "Training settings", panels.training), ("data", "Data", panels.data)):
        dock = QDockWidget(title, window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        if inspector is not None:
            window.tabifyDockWidget(inspector, dock)
        window.docks[name] = dock
        if getattr(window, "panels_menu", None) is not None:
            window.panels_menu.addAction(dock.toggleViewAction())
    if inspector is not None:
        inspector.raise_()
    return panels


def _fixed(window, messages: list) -> None:
    """A data check that passes on a graph without errors: a run that failed to start on a
    problem now fixed no longer shows its red message in the Training dock."""
    dashboard, document = getattr(window, "training", None), getattr(window, "document", None)
    if not messages and dashboard is not None and document is not None and not document.result.errors:
        dashboard.clear_failure()
