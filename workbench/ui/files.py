"""New, Open, Save, Save As, recent files, and the unsaved-changes question.

A file that cannot be read opens nothing: the error is shown and the current document
stays as it was. A template, or an example opened from where the app is installed, becomes
an untitled copy (its data paths still naming the files beside the original), so Save
never overwrites a bundled example without asking where to save.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from workbench.core.project import SUFFIX, ProjectError, load_project, save_project
from workbench.ui import settings
from workbench.ui.templates import BLANK, TemplateGallery, blank_project

FILTER = "Model Workbench project (*.wbproj);;All files (*)"
OPEN_FILTER = "Model Workbench project (*.wbproj);;Exported model (*.onnx *.pt *.pt2 *.py);;All files (*)"


def untitled_copy(project):
    """The project as an untitled copy (Save asks where), its relative data paths still
    naming the files beside the original."""
    from workbench.data.paths import data_base_dir, rebase_data_paths

    if project.path is not None:
        project.data = rebase_data_paths(project.data, data_base_dir(project.path))
    project.path = None
    return project


def is_bundled(path) -> bool:
    """Whether `path` is one of the examples installed with the app (never saved over)."""
    from workbench.paths import EXAMPLES

    try:
        return Path(path).resolve().is_relative_to(EXAMPLES.resolve())
    except OSError:
        return False
Btn = QMessageBox.StandardButton


class Files(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    @property
    def document(self):
        return self.window.document

    # ---- questions ------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """True when the current document may be replaced or closed (saved, or changes dropped)."""
        doc = self.document
        if doc is None or not doc.is_modified:
            return True
        answer = QMessageBox.question(
            self.window,
            "Unsaved changes",
            f"Save the changes to {doc.display_name} before closing it?",
            Btn.Save | Btn.Discard | Btn.Cancel,
            Btn.Save,
        )
        if answer == Btn.Save:
            return self.save()
        return answer == Btn.Discard

    def _error(self, title: str, message: str) -> None:
        QMessageBox.critical(self.window, title, message)

    # ---- commands ---------------------------------------------------------------------
    def new(self) -> bool:
        if not self.confirm_discard():
            return False
        gallery = TemplateGallery(self.window)
        try:
            if gallery.exec() != QDialog.DialogCode.Accepted:
                return False
            choice = gallery.choice()
        finally:
            gallery.deleteLater()
        return self.new_from(choice)

    def new_from(self, choice: str | None) -> bool:
        if choice is None:
            return False
        if choice == BLANK:
            project = blank_project()
        else:
            try:
                project = load_project(choice)
            except ProjectError as exc:
                self._error("Cannot use this template", str(exc))
                return False
            untitled_copy(project)
        self.window.set_project(project)
        return True

    def open(self, path: str | Path | None = None) -> bool:
        if not self.confirm_discard():
            return False
        if path is None:
            start = str(self.document.path.parent) if self.document and self.document.path else ""
            path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, OPEN_FILTER)
            if not path:
                return False
        from workbench.ui.artifact_open import is_artifact, open_artifact

        if is_artifact(path):  # an exported model: the project it carries (or an ONNX import)
            return open_artifact(self.window, path)
        try:
            project = load_project(path)
        except ProjectError as exc:
            self._error("Cannot open the project", str(exc))
            if not Path(path).exists():
                settings.remove_recent_file(Path(path))
            return False
        if is_bundled(path):  # an installed example: edit a copy, so Save never writes into the installation
            self.window.set_project(untitled_copy(project))
            self.window.statusBar().showMessage(
                f"Opened a copy of the bundled example {Path(path).name}: Save asks where to keep it", 8000)
            return True
        self.window.set_project(project)
        settings.add_recent_file(Path(path))
        return True

    def save(self) -> bool:
        doc = self.document
        if doc is None:
            return False
        if doc.path is None:
            return self.save_as()
        return self._write(doc.path)

    def save_as(self) -> bool:
        doc = self.document
        if doc is None:
            return False
        start = str(doc.path) if doc.path else f"{doc.project.name}{SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project as", start, FILTER)
        if not path:
            return False
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        return self._write(path)

    def _write(self, path: Path) -> bool:
        doc = self.document
        moved_from = doc.path
        try:
            save_project(doc.project, path)
        except OSError as exc:
            self._error("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        note = self._adopt_runs(path) if moved_from is None else ""
        doc.mark_saved(path)
        settings.add_recent_file(path)
        if moved_from != doc.path and "runs" in getattr(self.window, "docks", {}):
            self.window.docks["runs"].widget().mark_stale()  # the runs folder follows the file
        self.window.statusBar().showMessage(f"Saved {path}{note}", 6000)
        return True

    def _adopt_runs(self, path: Path) -> str:
        """An untitled project saved for the first time: its runs move beside the file."""
        from workbench.training.run_home import adopt_untitled_runs, untitled_base

        training = getattr(self.window, "training", None)
        if training is not None and training.active:  # the run writes there now: moving it would break it
            return f"; its runs stay in {untitled_base(self.document.project)} while one is going"
        try:
            target = adopt_untitled_runs(self.document.project, path)
        except OSError as exc:
            self._error("Runs not moved", f"The runs of the unsaved project stay where they were: {exc}")
            return ""
        return f"; its runs moved to {target}" if target is not None else ""

    # ---- recent files --------------------------------------------------------------------
    def fill_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        files = settings.recent_files()
        for path in files:
            action = menu.addAction(path.name)
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.setEnabled(path.exists())
            action.triggered.connect(lambda _checked=False, p=path: self.open(p))
        if not files:
            menu.addAction("No recent files").setEnabled(False)
