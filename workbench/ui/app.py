"""GUI entry point: `workbench [FILE]` and `python main.py [FILE]`.

The window is shown first; the layer catalog (torch-free) loads on a background thread
and the project opens. Then PyTorch (several seconds to import on a cold machine) and
the plugin layers load on a background thread while the project is already editable;
a project that names a plugin's layer type is shown again once the plugins are in.
With no file the digits example opens as an untitled copy. A recovery file left by a
crash is offered first.

WORKBENCH_STARTUP_PROBE=1 makes the app print `startup-probe shown <time> <cpu>` when
the window is first exposed and `startup-probe ready <time> <cpu>` once the project is
on screen (wall-clock time, and the process's CPU seconds so far), then quit
(benchmarks/startup.py).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from workbench.paths import DEFAULT_EXAMPLE

PROBE = "WORKBENCH_STARTUP_PROBE"


def _has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _load_core() -> None:
    """What opening a project needs, so the main thread finds it in sys.modules (no torch)."""
    from workbench.core.catalog import default_catalog

    default_catalog()
    import workbench.core.shapes  # noqa: F401
    import workbench.core.summary  # noqa: F401


def _load_plugins() -> None:
    """Plugin layers (they import torch), on the torch thread; a broken plugin is skipped."""
    from workbench.plugins import load_plugins

    load_plugins()


def _plugins_loaded(window, document, missing: set[str], error: str) -> None:
    """Show the plugins' layers in the palette, and the project again if it uses them
    (it was drawn with placeholders for the types they provide)."""
    if error or window.document is None:
        return
    window.palette_panel.set_catalog(window.document.graph.catalog)
    if window.document is document and any(name in document.graph.catalog for name in missing):
        modified = document.is_modified
        window.set_project(document.project)
        if modified:
            window.document.mark_modified()


def open_initial(window, path: str | None) -> None:
    """Recovery offer, then the requested file (or the default example)."""
    from PySide6.QtWidgets import QMessageBox

    from workbench.core.project import ProjectError, load_project
    from workbench.ui import autosave

    pending = autosave.pending_recoveries()
    if pending:
        answer = QMessageBox.question(
            window,
            "Recover unsaved work?",
            "Model Workbench did not close normally last time. Recover the unsaved changes?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        recovered = None
        if answer == QMessageBox.StandardButton.Yes:
            try:
                recovered = autosave.load_recovery(pending[0])
            except ProjectError as exc:
                QMessageBox.critical(window, "Cannot recover", str(exc))
        autosave.discard(pending)
        if recovered is not None:
            window.set_project(recovered)
            window.document.mark_modified()
            return
    if path:
        if window.files.open(path):
            return
    else:
        try:
            project = load_project(DEFAULT_EXAMPLE)
        except ProjectError as exc:
            QMessageBox.critical(window, "Cannot open the example", str(exc))
        else:
            from workbench.ui.files import untitled_copy

            window.set_project(untitled_copy(project))
            return
    from workbench.ui.templates import blank_project

    window.set_project(blank_project())


def _install_probe(app, window) -> None:
    from PySide6.QtCore import QEvent, QObject, QTimer

    class Probe(QObject):
        shown = False

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Expose and not self.shown and window.windowHandle().isExposed():
                self.shown = True
                print(f"startup-probe shown {time.time():.6f} {time.process_time():.6f}", flush=True)
            return False

    probe = Probe(window)
    window.windowHandle().installEventFilter(probe)
    window._probe = probe

    def ready():
        print(f"startup-probe ready {time.time():.6f} {time.process_time():.6f}", flush=True)
        QTimer.singleShot(0, app.quit)

    window._probe_ready = ready


def run_app(path: str | None = None) -> int:
    if path and not Path(path).is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    if not _has_display():
        print(
            "error: no display found; set DISPLAY (or QT_QPA_PLATFORM=offscreen), "
            f"or use the command line: workbench summary {path or DEFAULT_EXAMPLE}",
            file=sys.stderr,
        )
        return 2
    from workbench.ui.xcb_check import missing_libraries, missing_message, uses_xcb

    missing = missing_libraries() if uses_xcb() else []
    if missing:  # Qt would abort with a hint nobody can act on: name the packages instead
        print(missing_message(missing), file=sys.stderr)
        return 2
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication

    from workbench.plugin_demand import unknown_types
    from workbench.ui import torch_ready
    from workbench.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Model Workbench")
    app.setOrganizationName("model-workbench")
    window = MainWindow()
    window.show()
    probing = bool(os.environ.get(PROBE))
    if probing:
        _install_probe(app, window)

    class Loader(QObject):
        done = Signal(str)

    loader = Loader()
    errors: list[str] = []

    def finish(error: str) -> None:
        if error:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(window, "Cannot start", error)
            app.quit()
            return
        open_initial(window, path)
        if probing:
            window._probe_ready()
        document = window.document
        missing = unknown_types(document.graph) if document is not None else set()
        torch_ready.start(_load_plugins)
        torch_ready.when_loaded(lambda error: _plugins_loaded(window, document, missing, error))

    def work() -> None:
        try:
            _load_core()
        except Exception as exc:  # a broken install: say so in the window, not a traceback
            errors.append(f"Loading the layer catalog failed: {type(exc).__name__}: {exc}")
        loader.done.emit(errors[0] if errors else "")

    loader.done.connect(finish)
    threading.Thread(target=work, name="load-core", daemon=True).start()
    return app.exec()
