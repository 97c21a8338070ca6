"""Guards against a known-bad Qt binding, and the editor opening an example."""

import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtWidgets import QWidget

from workbench.core.project import load_project
from workbench.paths import DEFAULT_EXAMPLE
from workbench.ui.main_window import MainWindow


def test_void_qt_calls_keep_none_alive(qtbot):
    """PySide6 6.12.0 on CPython 3.11 drops a reference to None on every void call; the
    process then dies with 'none_dealloc' once pyqtgraph paints (DESIGN.md section 2)."""
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(100_000):
        widget.setObjectName("probe")
    after = sys.getrefcount(None)
    assert after >= before - 1000, f"PySide6 {pyside_version} leaks references to None ({before} -> {after})"


def test_the_editor_opens_the_default_example(qtbot):
    project = load_project(DEFAULT_EXAMPLE)
    window = MainWindow(project)
    qtbot.addWidget(window)
    window.show()
    table = window.summary.table
    ids = [table.item(row, 0).text() for row in range(table.rowCount())]
    assert ids[0] == "image" and ids[-1] == "out"
    assert set(window.scene.nodes) == set(project.graph.nodes)
    assert window.windowTitle().startswith("digits_cnn.wbproj")
