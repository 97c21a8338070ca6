"""The main window's actions, menus and toolbar, with the platform's standard shortcuts."""

from __future__ import annotations

import re
from types import SimpleNamespace

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QToolBar

K = QKeySequence.StandardKey
SP = QStyle.StandardPixmap


def _action(window, text: str, slot, shortcut=None, icon=None, tip: str = "", canvas: bool = False) -> QAction:
    """`canvas`: the shortcut works only while the canvas has focus (bare keys such as
    Delete or F must not fire while typing in the inspector or the palette)."""
    action = QAction(text, window)
    if shortcut is not None:
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        else:
            action.setShortcut(QKeySequence(shortcut))
    if icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    if canvas:
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        window.view.addAction(action)
    else:
        window.addAction(action)
    return action


def build(window) -> SimpleNamespace:
    """Create every action, the menu bar and the toolbar; returns the actions by name."""
    from workbench.ui.artifact_open import import_onnx_dialog
    from workbench.ui.netron_action import open_in_netron

    f, e = window.files, window
    a = SimpleNamespace()
    a.new = _action(window, "&New…", f.new, K.New, SP.SP_FileIcon, "Start a project from a template")
    a.open = _action(window, "&Open…", f.open, K.Open, SP.SP_DialogOpenButton, "Open a .wbproj project")
    a.save = _action(window, "&Save", f.save, K.Save, SP.SP_DialogSaveButton, "Save the project")
    a.save_as = _action(window, "Save &As…", f.save_as, "Ctrl+Shift+S")
    a.export = _action(window, "&Export…", window.show_export, "Ctrl+E",
                       tip="Export the model (ONNX, TorchScript, …) and verify it")
    a.export_image = _action(window, "Export Graph &Image…", lambda: _export_image(window),
                             tip="Save the graph as a PNG or SVG picture")
    a.quit = _action(window, "&Quit", window.close, K.Quit)
    a.undo = window.undo_group.createUndoAction(window, "&Undo")
    a.undo.setShortcuts(QKeySequence.keyBindings(K.Undo))
    a.undo.setIcon(window.style().standardIcon(SP.SP_ArrowBack))
    a.redo = window.undo_group.createRedoAction(window, "&Redo")
    a.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    a.redo.setIcon(window.style().standardIcon(SP.SP_ArrowForward))
    a.cut = _action(window, "Cu&t", lambda: e.editor and e.editor.cut(), K.Cut)
    a.copy = _action(window, "&Copy", lambda: e.editor and e.editor.copy(), K.Copy)
    a.paste = _action(window, "&Paste", lambda: e.editor and e.editor.paste(), K.Paste)
    a.duplicate = _action(window, "D&uplicate", lambda: e.editor and e.editor.duplicate(), "Ctrl+D", canvas=True)
    a.delete = _action(window, "&Delete", lambda: e.editor and e.editor.delete_selection(),
                       [QKeySequence(K.Delete), "Backspace"], canvas=True)
    a.group = _action(window, "&Group into Block…", lambda: e.editor and e.editor.group_selection(), "Ctrl+G",
                      tip="Replace the selected layers by one named block (reusable from the palette)", canvas=True)
    a.ungroup = _action(window, "U&ngroup", lambda: e.editor and e.editor.ungroup_selection(), "Ctrl+Shift+G",
                        tip="Replace the selected block by its layers", canvas=True)
    a.select_all = _action(window, "Select &All", lambda: e.editor and e.editor.select_all(), K.SelectAll, canvas=True)
    a.quick_add = _action(window, "&Quick Add Layer…", window.quick_add, "Ctrl+K", tip="Type a layer name and press Enter")
    a.fit = _action(window, "&Fit to View", window.view.fit_all, "F", tip="Show the whole model (F)", canvas=True)
    a.zoom_in = _action(window, "Zoom &In", lambda: window.view.zoom_by(1.25), [QKeySequence(K.ZoomIn), "Ctrl+="])
    a.zoom_out = _action(window, "Zoom &Out", lambda: window.view.zoom_by(0.8), K.ZoomOut)
    a.zoom_reset = _action(window, "&Actual Size", window.view.reset_zoom, "Ctrl+0")
    a.reset_layout = _action(window, "Reset &Panels", window.reset_panels)
    a.auto_layout = _action(window, "&Auto-Layout", lambda: e.editor and e.editor.auto_layout(), "Ctrl+Shift+L",
                            tip="Arrange the layers top to bottom (one undo step)")
    a.code = _action(window, "View PyTorch &Code…", window.show_code, "Ctrl+Shift+C", tip="The model as standalone PyTorch source")
    a.shortcuts = _action(window, "&Keyboard Shortcuts", window.show_shortcuts)
    a.about = _action(window, "&About Model Workbench", window.show_about)

    # right-click on the canvas: its own actions (duplicate, delete, group into block, ungroup, …)
    window.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for action in (a.new, a.open):
        file_menu.addAction(action)
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(window.files.fill_recent_menu)
    file_menu.addSeparator()
    file_menu.addActions([a.save, a.save_as])
    file_menu.addSeparator()
    file_menu.addActions([a.export, a.export_image])
    a.import_onnx = _action(window, "&ONNX…", lambda: import_onnx_dialog(window),
                            tip="Import an ONNX model as a project (its weights saved beside it)")
    file_menu.addMenu("&Import").addAction(a.import_onnx)
    a.netron = _action(window, "Open in &Netron", lambda: open_in_netron(window),
                       tip="Show the last export in Netron (in the browser, served on 127.0.0.1)")
    file_menu.addAction(a.netron)
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    edit = bar.addMenu("&Edit")
    edit.addActions([a.undo, a.redo])
    edit.addSeparator()
    edit.addActions([a.cut, a.copy, a.paste, a.duplicate, a.delete])
    edit.addSeparator()
    edit.addActions([a.group, a.ungroup])
    edit.addSeparator()
    edit.addActions([a.select_all, a.quick_add])
    view = bar.addMenu("&View")
    view.addActions([a.fit, a.zoom_in, a.zoom_out, a.zoom_reset])
    view.addSeparator()
    window.panels_menu = view.addMenu("&Panels")
    view.addAction(a.reset_layout)
    model = bar.addMenu("&Model")
    model.addActions([a.auto_layout, a.code])
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([a.shortcuts, a.about])

    toolbar = QToolBar("Main toolbar", window)
    toolbar.setObjectName("toolbar")
    toolbar.setMovable(False)
    toolbar.addActions([a.new, a.open, a.save])
    toolbar.addSeparator()
    toolbar.addActions([a.undo, a.redo])
    toolbar.addSeparator()
    for action in (a.quick_add, a.auto_layout, a.fit, a.code):
        toolbar.addAction(action)
    window.addToolBar(toolbar)
    a.document_actions = [
        a.save, a.save_as, a.cut, a.copy, a.paste, a.duplicate, a.delete, a.group, a.ungroup, a.select_all, a.quick_add,
        a.fit, a.zoom_in, a.zoom_out, a.zoom_reset, a.auto_layout, a.code, a.new, a.open, a.export, a.export_image,
    ]
    return a


def _export_image(window) -> None:
    from workbench.ui.graph_image import export_dialog

    export_dialog(window)


def key_names(keys: str) -> set[str]:
    """The separate keys of a SHORTCUTS entry ("Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y")."""
    return {part.strip() for part in re.split(r" / | or |, ", keys)}


SHORTCUTS = [
    ("New / Open / Save / Save As", "Ctrl+N / Ctrl+O / Ctrl+S / Ctrl+Shift+S"),
    ("Export", "Ctrl+E"),
    ("Undo / Redo", "Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y"),
    ("Copy / Cut / Paste / Duplicate", "Ctrl+C / Ctrl+X / Ctrl+V / Ctrl+D"),
    ("Delete the selection", "Delete or Backspace"),
    ("Select all", "Ctrl+A"),
    ("Group the selection into a block / ungroup", "Ctrl+G / Ctrl+Shift+G"),
    ("Quick add a layer after the selection", "Ctrl+K"),
    ("Fit the model in view", "F"),
    ("Zoom", "mouse wheel (around the cursor), Ctrl++ / Ctrl+- / Ctrl+0"),
    ("Pan", "middle-button drag, or hold Space and drag"),
    ("Connect", "drag from an output port (bottom) to an input port (top)"),
    ("Rewire / remove a link", "drag its input end to another port / to empty space"),
    ("Auto-layout", "Ctrl+Shift+L"),
    ("View PyTorch code", "Ctrl+Shift+C"),
]
