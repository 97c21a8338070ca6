"""Views in a background dock tab draw when their tab is brought forward, not before; a
widget scrolled out of view in a dock on screen draws at once."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QScrollArea, QVBoxLayout, QWidget

from workbench.ui.deferred import DrawWhenSeen, on_screen


def test_a_background_tab_draws_the_latest_item_when_brought_forward(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("canvas"))
    front, back = QDockWidget("Front", window), QDockWidget("Back", window)
    view = QLabel()
    front.setWidget(QLabel("front"))
    back.setWidget(view)
    for dock in (front, back):
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.tabifyDockWidget(front, back)
    window.resize(600, 400)
    window.show()
    front.raise_()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: back.visibleRegion().isEmpty())
    drawn = []
    deferred = DrawWhenSeen(view, drawn.append)
    assert view.isVisible() and not on_screen(view)  # what Qt says, and what we mean
    deferred.submit(1)
    deferred.submit(2)
    assert drawn == [] and deferred.pending == 2
    back.raise_()
    qtbot.waitUntil(lambda: drawn == [2])
    deferred.submit(3)  # on screen now: drawn at once
    assert drawn == [2, 3] and deferred.pending is None
    front.raise_()
    qtbot.waitUntil(lambda: back.visibleRegion().isEmpty())
    deferred.submit(4)
    deferred.discard()
    back.raise_()
    qtbot.wait(50)
    assert drawn == [2, 3]


def test_a_widget_scrolled_out_of_view_in_a_dock_on_screen_draws_at_once(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    dock = QDockWidget("Data", window)
    scroll = QScrollArea()
    content = QWidget()
    column = QVBoxLayout(content)
    column.addSpacing(2000)
    below = QLabel("preview")
    column.addWidget(below)
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    dock.setWidget(scroll)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resize(600, 400)
    window.show()
    qtbot.waitExposed(window)
    assert below.visibleRegion().isEmpty()
    drawn = []
    DrawWhenSeen(below, drawn.append).submit("x")
    assert drawn == ["x"]
