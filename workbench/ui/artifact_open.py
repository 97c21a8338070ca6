"""Exported models as a way back into the app: open or drop one, File > Import > ONNX….

An ONNX, TorchScript, .pt2 or source file exported here carries its project
(workbench.export.embedded_project): it opens as an untitled project, its weights' origin
in the status bar. An ONNX file without one is imported (onnx2torch, then the fx
importer) on a worker thread, so the window stays responsive; its weights need a home, so
the user first picks where the project is saved and the weights go beside it (OUT.pt), as
`workbench import` does.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core.project import SUFFIX, ProjectError

__all__ = ["ARTIFACT_SUFFIXES", "is_artifact", "open_artifact", "import_onnx_dialog", "OnnxImportJob", "FileDrop",
           "install_file_drop"]

ARTIFACT_SUFFIXES = (".onnx", ".pt", ".pt2", ".py")
PROJECT_FILTER = "Model Workbench project (*.wbproj)"


def is_artifact(path) -> bool:
    return Path(path).suffix.lower() in ARTIFACT_SUFFIXES


def open_artifact(window, path) -> bool:
    """Open the project `path` carries; an ONNX file without one is imported in the
    background (True: the import started) after asking where to save it."""
    from workbench.export.embedded_project import NotEmbedded, read_embedded
    from workbench.export.open_command import describe_embedded

    path = Path(path)
    try:
        embedded = read_embedded(path)
    except ProjectError as exc:
        QMessageBox.critical(window, "Cannot open the model", str(exc))
        return False
    except NotEmbedded as exc:
        if path.suffix.lower() != ".onnx":
            QMessageBox.critical(window, "Cannot open the model", str(exc))
            return False
        return _start_import(window, path)
    window.set_project(embedded.project)  # untitled: Save asks where
    window.document.mark_modified()
    window.statusBar().showMessage(describe_embedded(path, embedded), 10000)
    return True


def import_onnx_dialog(window) -> bool:
    """File > Import > ONNX…: pick a file, import it (the embedded project first, if it has one)."""
    if not window.files.confirm_discard():
        return False
    path, _ = QFileDialog.getOpenFileName(window, "Import an ONNX model", "", "ONNX model (*.onnx);;All files (*)")
    return bool(path) and open_artifact(window, path)


class OnnxImportJob(QObject):
    """An ONNX import on a worker thread (onnx2torch, tracing and onnxruntime take seconds);
    the project is saved and opened back on the UI thread."""

    finished = Signal(object)  # an OnnxImport, or the error message

    def __init__(self, window, source: Path, target: Path) -> None:
        super().__init__(window)
        self.window, self.source, self.target = window, source, target
        self.finished.connect(self._done)
        self.thread = threading.Thread(target=self._run, name="onnx-import", daemon=True)

    def _run(self) -> None:
        from workbench.core.onnx_import import ImportFailure, import_onnx

        try:
            self.finished.emit(import_onnx(self.source))
        except ImportFailure as exc:
            self.finished.emit(f"{self.source.name} carries no Model Workbench project, and importing it failed: {exc}")
        except Exception as exc:  # noqa: BLE001 - shown, never lost on a worker thread
            self.finished.emit(f"importing {self.source.name} failed: {type(exc).__name__}: {exc}")

    def _done(self, outcome) -> None:
        from workbench.core.project import load_project
        from workbench.export.import_command import write_import

        window = self.window
        window.onnx_import_job = None
        if isinstance(outcome, str):
            QMessageBox.critical(window, "Cannot import the model", outcome)
            return
        try:
            weights = write_import(outcome.result, self.target)
            project = load_project(self.target)
        except (OSError, ProjectError) as exc:
            QMessageBox.critical(window, "Cannot save the imported project", str(exc))
            return
        window.set_project(project)
        diff = f", max abs diff {outcome.max_diff:.1e} against onnxruntime" if outcome.max_diff is not None else ""
        window.statusBar().showMessage(f"{self.source.name} carries no project: imported it as ONNX; weights in "
                                       f"{weights.name}{diff}", 10000)


def _start_import(window, source: Path) -> bool:
    if getattr(window, "onnx_import_job", None) is not None:
        QMessageBox.information(window, "An import is running", "Wait for the ONNX import in progress to finish.")
        return False
    target, _ = QFileDialog.getSaveFileName(window, "Save the imported project (its weights go beside it)",
                                            str(source.with_suffix(SUFFIX)), PROJECT_FILTER)
    if not target:
        return False
    job = window.onnx_import_job = OnnxImportJob(window, source, Path(target))
    window.statusBar().showMessage(f"importing {source.name} (ONNX, through onnx2torch)…")
    job.thread.start()
    return True


class FileDrop(QObject):
    """Accepts a project or exported model file dropped anywhere on the window and opens it."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    @staticmethod
    def _path(event) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        urls = [u for u in mime.urls() if u.isLocalFile()]
        if len(urls) != 1:
            return None
        path = Path(urls[0].toLocalFile())
        return path if path.suffix.lower() in (*ARTIFACT_SUFFIXES, SUFFIX) else None

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and self._path(event) is not None:
            event.acceptProposedAction()
            return True
        if kind == QEvent.Type.Drop:
            path = self._path(event)
            if path is not None:
                event.acceptProposedAction()
                self.window.files.open(path)
                return True
        return False


def install_file_drop(window) -> FileDrop:
    drop = FileDrop(window)
    window.setAcceptDrops(True)
    window.installEventFilter(drop)  # the canvas ignores file drags, so they reach the window
    return drop
