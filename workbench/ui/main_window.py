"""The editor window: palette, canvas, inspector, summary and problems around one document.

The window can be shown before PyTorch is imported (start-up stays fast): until
`set_project` is called it is an empty shell that says it is loading.
"""

from __future__ import annotations

import zlib

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QUndoGroup
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox

from workbench.ui import menus, settings
from workbench.ui.canvas.view import CanvasView
from workbench.ui.files import Files
from workbench.ui.inspector import Inspector
from workbench.ui.palette import Palette
from workbench.ui.problems_panel import ProblemsPanel
from workbench.ui.summary_panel import SummaryPanel

APP_NAME = "Model Workbench"


class MainWindow(QMainWindow):
    document_changed = Signal()  # another project is shown (views that depend on which one follow)

    def __init__(self, project=None, autosave_ms: int | None = None) -> None:
        super().__init__()
        self.setObjectName("main_window")
        self.document = None
        self.scene = None
        self.editor = None
        self.autosave = None
        self._autosave_ms = autosave_ms
        self._quick_add = None
        self.export_dialog = None
        self.undo_group = QUndoGroup(self)
        self.files = Files(self)
        self.view = CanvasView(self)
        self.view.placeholder = "Loading PyTorch…"
        self.setCentralWidget(self.view)
        self.palette_panel = Palette()
        self.inspector = Inspector()
        self.summary = SummaryPanel()
        self.problems = ProblemsPanel()
        self.docks = {
            "palette": self._dock("Layers", "palette", self.palette_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
            "inspector": self._dock("Inspector", "inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea),
            "summary": self._dock("Model summary", "summary", self.summary, Qt.DockWidgetArea.BottomDockWidgetArea),
            "problems": self._dock("Problems", "problems", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        self.tabifyDockWidget(self.docks["summary"], self.docks["problems"])
        self.docks["summary"].raise_()
        self.actions_ = menus.build(self)
        from workbench.ui.artifact_open import install_file_drop

        self.file_drop = install_file_drop(self)  # a dropped project or exported model opens
        for dock in self.docks.values():
            self.panels_menu.addAction(dock.toggleViewAction())
        from workbench.ui.training import install as install_training  # the Training dock, menu and actions

        self.training = install_training(self)
        from workbench.ui.settings_panels import install as install_settings  # Training settings and Data docks

        self.settings_panels = install_settings(self)
        from workbench.ui.sweep import install as install_sweep  # the Sweep dock (Optuna), beside Runs

        install_sweep(self)
        self.counts = QLabel()
        self.statusBar().addPermanentWidget(self.counts)
        self._first_size()
        self._default_state = self.saveState()
        self._sized_docks = self._restore_settings()
        self.palette_panel.activated.connect(lambda name: self.editor and self.editor.add_layer(name, wire=True))
        self.view.layer_dropped.connect(lambda name, pos: self.editor and self.editor.add_layer(name, pos))
        self.summary.node_clicked.connect(self.reveal_node)
        self.inspector.renamed.connect(self.reveal_node)  # the renamed node stays selected
        self.problems.node_clicked.connect(self.reveal_node)
        self.problems.count_changed.connect(self._show_counts)
        self._set_enabled(False)
        self._update_title()
        if project is not None:
            self.set_project(project)

    def _dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # ---- document ---------------------------------------------------------------------
    def set_project(self, project) -> None:
        """Show `project`, replacing the current document (the caller asked about changes)."""
        from workbench.ui.autosave import Autosave
        from workbench.ui.canvas.scene import GraphScene
        from workbench.ui.document import Document
        from workbench.ui.editing import Editor

        old_doc, old_scene = self.document, self.scene
        if self.autosave is not None:
            self.autosave.stop()
            self.autosave.deleteLater()
        document = Document(project, self)
        self.document = document
        self.scene = GraphScene(document, self)
        self.view.setScene(self.scene)
        self.view.placeholder = ""
        self.editor = Editor(document, self.scene, self.view)
        self.undo_group.addStack(document.undo_stack)
        self.undo_group.setActiveStack(document.undo_stack)
        self.palette_panel.set_catalog(document.graph.catalog)
        self.palette_panel.set_document(document)  # its "My blocks" section
        self.inspector.set_document(document)
        self.summary.set_document(document)
        self.problems.set_document(document)
        self.settings_panels.set_document(document)
        self.scene.selection_changed_ids.connect(self.inspector.show_nodes)
        self.scene.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        document.modified_changed.connect(self._update_title)
        interval = self._autosave_ms
        self.autosave = Autosave(document, interval, self) if interval else Autosave(document, parent=self)
        if old_doc is not None:
            self.undo_group.removeStack(old_doc.undo_stack)
            self._silence(old_doc, old_scene)
            old_doc.deleteLater()
            old_scene.deleteLater()
        self._set_enabled(True)
        self._update_title()
        self._fit_pending = True
        QTimer.singleShot(0, self._initial_fit)
        self.view.setFocus()
        self.document_changed.emit()

    def _initial_fit(self) -> None:
        """Once the view has its real size: the whole model if readable, else its top."""
        if self._fit_pending and self.isVisible():
            self._fit_pending = False
            self.view.fit_all(max_scale=1.0, min_scale=0.5)  # Output in view: examples are laid out to fit

    def _first_size(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is None or screen.width() < 200:
            self.resize(1400, 900)
            return
        self.resize(min(1560, int(screen.width() * 0.94)), min(980, int(screen.height() * 0.94)))

    def _size_docks(self) -> None:
        self.resizeDocks([self.docks["palette"], self.docks["inspector"]], [210, 350], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["summary"]], [self._bottom_height()], Qt.Orientation.Vertical)

    def _bottom_height(self) -> int:
        """The bottom docks start tall enough for a 10-class confusion matrix (and the
        dashboard's plots), at most 40% of the window; the user's own sizes are restored
        from the settings instead when there are any."""
        needed = 170
        if "evaluation" in self.docks:
            title_and_tabs = 2 * self.fontMetrics().height() + 24
            needed = max(needed, self.evaluation.height_for_classes(10) + title_and_tabs)
        return min(needed, int(self.height() * 0.4))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._sized_docks:  # first run: sensible panel sizes once the window has its size
            self._sized_docks = True
            self._size_docks()
        if getattr(self, "_fit_pending", False):
            QTimer.singleShot(0, self._initial_fit)

    def _set_enabled(self, enabled: bool) -> None:
        for action in self.actions_.document_actions:
            action.setEnabled(enabled)
        for dock in self.docks.values():
            dock.widget().setEnabled(enabled)

    def _update_title(self, *_args) -> None:
        doc = self.document
        if not shiboken6.isValid(self):  # a document's signals can outlive the window at exit
            return
        if doc is None:
            self.setWindowTitle(APP_NAME)
            return
        suffix = "" if doc.path else " (not saved)"
        self.setWindowTitle(f"{doc.display_name}{suffix}[*] — {APP_NAME}")
        self.setWindowModified(doc.is_modified)

    def _show_counts(self, errors: int, warnings: int) -> None:
        doc = self.document
        if doc is None:
            return
        from workbench.core.graph import count_layers

        layers = count_layers(node.type for node in doc.graph)
        text = f"{layers} layer{'s' if layers != 1 else ''}"
        text += f" · {errors} error{'s' if errors != 1 else ''}" if errors else " · no errors"
        if warnings:
            text += f" · {warnings} warning{'s' if warnings != 1 else ''}"
        self.counts.setText(text)

    def reveal_node(self, node_id: str) -> None:
        if self.scene is None or node_id not in self.scene.nodes:
            return
        self.scene.select_nodes([node_id])
        self.view.ensureVisible(self.scene.nodes[node_id], 60, 60)

    # ---- commands that open things -----------------------------------------------------
    def quick_add(self) -> None:
        if self.document is None:
            return
        from workbench.ui.quick_add import QuickAdd

        if self._quick_add is None:
            self._quick_add = QuickAdd(self.document.graph.catalog, self,
                                       blocks=lambda: list(self.document.graph.blocks) if self.document else [])
            self._quick_add.chosen.connect(lambda name: self.editor and self.editor.add_layer(name, wire=True))
        self._quick_add.edit.clear()
        self._quick_add.popup_at(self.view.mapToGlobal(self.view.rect().center()))

    def show_code(self) -> None:
        if self.document is None:
            return
        from workbench.ui.code_dialog import CodeDialog

        dialog = CodeDialog(self.document, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.code_dialog = dialog

    def show_export(self) -> None:
        if self.document is None:
            return
        from workbench.ui.export_dialog import ExportDialog

        if self.export_dialog is None:  # kept: the choices stay for the next export
            self.export_dialog = ExportDialog(self)
        self.export_dialog.refresh()
        self.export_dialog.show()
        self.export_dialog.raise_()
        self.export_dialog.activateWindow()

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """The documented gestures, then every other action of the window that has a key."""
        from PySide6.QtGui import QAction, QKeySequence

        rows = list(menus.SHORTCUTS)
        listed = set().union(*(menus.key_names(keys) for _what, keys in rows))
        for action in self.findChildren(QAction):
            keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
            if keys and not set(keys) <= listed:
                rows.append((action.text().replace("&", ""), " or ".join(keys)))
                listed.update(keys)
        return rows

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td>{what}</td><td style='padding-left:12px'><b>{keys}</b></td></tr>"
                       for what, keys in self.shortcut_rows())
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b><br>Design PyTorch networks by wiring layers; every tensor shape is shown as you wire.",
        )

    def reset_panels(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.show()
        self._size_docks()

    # ---- settings and closing ---------------------------------------------------------------
    def _restore_settings(self) -> bool:
        store = settings.settings()
        geometry = store.value("window/geometry")
        state = store.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        return isinstance(state, QByteArray) and self.restoreState(state, self._layout_version())

    def _layout_version(self) -> int:
        """Changes whenever the set of panels does, so a layout saved by a version with other
        panels is not restored (Qt would park the new panels in odd places)."""
        return zlib.crc32(",".join(sorted(self.docks)).encode()) & 0x7FFFFFFF

    def save_settings(self) -> None:
        store = settings.settings()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState(self._layout_version()))
        store.sync()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and self.scene is not None:
            from workbench.ui.theme import current_theme

            self.scene.set_theme(current_theme())

    def closeEvent(self, event) -> None:
        if not self.files.confirm_discard():
            event.ignore()
            return
        self.save_settings()
        self.training.shutdown()  # stop a run cleanly (it keeps its checkpoint) and join its thread
        if "generate" in self.docks:
            self.docks["generate"].widget().shutdown()
        if "try_it" in self.docks:
            self.docks["try_it"].widget().shutdown()
        if "sweep" in self.docks:
            self.docks["sweep"].widget().shutdown()
        if self.export_dialog is not None:
            self.export_dialog.close()  # waits for a running export
        if getattr(self, "netron_server", None) is not None:
            self.netron_server.stop()  # the model is no longer served once the app is gone
        if self.autosave is not None:
            self.autosave.stop()
        if self._quick_add is not None:
            self._quick_add.close()
        if self.document is not None:
            self._silence(self.document, self.scene)
        event.accept()

    @staticmethod
    def _silence(document, scene) -> None:
        """A retired document's objects emit while Qt destroys them (an undo stack clears
        itself); nothing should listen any more."""
        for obj in (document, document.undo_stack, scene):
            obj.blockSignals(True)
