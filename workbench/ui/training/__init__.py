"""The training dashboard: a dock, a Training menu (Train / Pause / Stop) and a clean stop
when the window closes. `install(window)` is the only thing the main window calls."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QStyle, QToolBar

from workbench.ui.canvas.telemetry import install_graph_telemetry
from workbench.ui.training.dashboard import TrainingDashboard
from workbench.ui.training.evaluation_view import install_evaluation
from workbench.ui.training.generate_panel import install_generate_panel
from workbench.ui.training.runs_panel import install_runs_panel
from workbench.ui.try_it import install_try_it_panel

__all__ = ["install", "TrainingDashboard"]

SP = QStyle.StandardPixmap


def install(window) -> TrainingDashboard:
    """Add the Training dock (tabbed with the bottom panels), its menu and toolbar actions."""
    dashboard = TrainingDashboard(lambda: window.document.project if window.document is not None else None)
    dock = QDockWidget("Training", window)
    dock.setObjectName("training")
    dock.setWidget(dashboard)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    bottom = [d for name, d in window.docks.items() if window.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
    if bottom:
        window.tabifyDockWidget(bottom[-1], dock)
        bottom[0].raise_()
    window.docks["training"] = dock
    if getattr(window, "panels_menu", None) is not None:
        window.panels_menu.addAction(dock.toggleViewAction())
    install_runs_panel(window, dashboard)  # the Runs dock, tabbed beside this one
    install_evaluation(window, dashboard, tab_with=dock)
    install_generate_panel(window, dashboard)  # the Generate dock, beside the Inspector
    install_try_it_panel(window, dashboard)  # the Try-it dock (the model on one's own input), beside it
    if bottom:
        bottom[0].raise_()

    def action(text, slot, shortcut, icon, tip) -> QAction:
        a = QAction(window.style().standardIcon(icon), text, window)
        a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(f"{tip} ({shortcut})")
        a.setStatusTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        window.addAction(a)
        return a

    def train() -> None:
        dock.show()
        dock.raise_()
        dashboard.train()

    actions = dashboard.actions_ = {
        "train": action("&Train", train, "F5", SP.SP_MediaPlay, "Train the model"),
        "pause": action("&Pause / Resume", dashboard.toggle_pause, "F6", SP.SP_MediaPause, "Pause or resume training"),
        "stop": action("&Stop", dashboard.stop, "Shift+F5", SP.SP_MediaStop, "Stop training (keeps the checkpoint)"),
    }
    bar = window.menuBar()
    menu = bar.addMenu("&Training")
    menu.addActions(list(actions.values()))
    install_graph_telemetry(window, dashboard, menu)  # live figures and NaN/failure marks on the canvas
    menus = [a for a in bar.actions() if a.menu() is not None and a.text().replace("&", "") == "Help"]
    if menus:  # before Help
        bar.removeAction(menu.menuAction())
        bar.insertAction(menus[0], menu.menuAction())
    toolbar = window.findChild(QToolBar, "toolbar")
    if toolbar is not None:
        toolbar.addSeparator()
        toolbar.addActions(list(actions.values()))

    def sync(_state: str = "") -> None:
        actions["train"].setEnabled(dashboard.train_button.isEnabled())
        actions["pause"].setEnabled(dashboard.pause_button.isEnabled() or dashboard.resume_button.isEnabled())
        actions["stop"].setEnabled(dashboard.stop_button.isEnabled())

    dashboard.state_changed.connect(sync)
    sync()
    return dashboard
