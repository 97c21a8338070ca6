"""Exported models as a way back into the app: open or drop one, File > Import > ONNX….

An ONNX, TorchScript, .pt2 or source file exported here carries its project
(workbench.export.embedded_project): it opens as an untitled project, its weights' origin
in the status bar. An ONNX file without one is imported (onnx2torch, then the fx
importer); its weights need a home, so the user picks where the project is saved and the
weights go beside it (OUT.pt), as `workbench import` does.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from workbench.core.project import SUFFIX, ProjectError

__all__ = ["ARTIFACT_SUFFIXES", "is_artifact", "open_artifact", "import_onnx_dialog", "FileDrop", "install_file_drop"]

ARTIFACT_SUFFIXES = (".onnx", ".pt", ".pt2", ".py")
PROJECT_FILTER = "Model Workbench project (*.wbproj)"


def is_artifact(path) -> bool:
    return Path(path).suffix.lower() in ARTIFACT_SUFFIXES


def open_artifact(window, path) -> bool:
    """Recover the project `path` carries (or import it as ONNX) into the window."""
    from workbench.export.open_command import recover_project

    path = Path(path)
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # an ONNX import takes seconds
    try:
        recovered = recover_project(path)
    except ProjectError as exc:
        QMessageBox.critical(window, "Cannot open the model", str(exc))
        return False
    finally:
        QApplication.restoreOverrideCursor()
    if recovered.imported is not None:
        return _save_imported(window, recovered.imported, path, recovered.how)
    window.set_project(recovered.project)  # untitled: Save asks where
    window.document.mark_modified()
    window.statusBar().showMessage(recovered.how, 10000)
    return True


def import_onnx_dialog(window) -> bool:
    """File > Import > ONNX…: pick a file, import it (the embedded project first, if it has one)."""
    if not window.files.confirm_discard():
        return False
    path, _ = QFileDialog.getOpenFileName(window, "Import an ONNX model", "", "ONNX model (*.onnx);;All files (*)")
    return bool(path) and open_artifact(window, path)


def _save_imported(window, imported, source: Path, how: str) -> bool:
    from workbench.core.project import load_project
    from workbench.export.import_command import write_import

    target, _ = QFileDialog.getSaveFileName(window, "Save the imported project (its weights go beside it)",
                                            str(source.with_suffix(SUFFIX)), PROJECT_FILTER)
    if not target:
        return False
    try:
        weights = write_import(imported.result, Path(target))
        project = load_project(target)
    except (OSError, ProjectError) as exc:
        QMessageBox.critical(window, "Cannot save the imported project", str(exc))
        return False
    window.set_project(project)
    window.statusBar().showMessage(f"{how.splitlines()[0]}; weights in {weights.name} "
                                   f"(max abs diff {imported.max_diff:.1e} against onnxruntime)"
                                   if imported.max_diff is not None else how.splitlines()[0], 10000)
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
