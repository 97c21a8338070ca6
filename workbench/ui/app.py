"""GUI entry point. Until the editor lands (issue 5) it opens a read-only model view:
the project's summary table and its problems, so `make run` shows the real model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from workbench.paths import DEFAULT_EXAMPLE


def _has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_app(path: str | None = None) -> int:
    from workbench.core.project import ProjectError, load_project

    file = Path(path) if path else DEFAULT_EXAMPLE
    try:
        project = load_project(file)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not _has_display():
        print(
            "error: no display found; set DISPLAY (or QT_QPA_PLATFORM=offscreen), "
            f"or use the command line: workbench summary {file}",
            file=sys.stderr,
        )
        return 2
    from PySide6.QtWidgets import QApplication

    from workbench.ui.model_view import ModelView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Model Workbench")
    window = ModelView(project)
    window.show()
    return app.exec()
