"""GUI test fixtures: modal dialogs never block, and windows are built the way a user opens them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core.project import load_project, project_from_dict
from workbench.paths import DEFAULT_EXAMPLE


@dataclass
class Dialogs:
    """What the app asked; answers to give. Unanswered questions get `default_answer`."""

    answers: list = field(default_factory=list)
    default_answer: QMessageBox.StandardButton = QMessageBox.StandardButton.Discard
    asked: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    infos: list = field(default_factory=list)
    open_path: str = ""
    save_path: str = ""

    def question(self, parent, title, text, *args, **kwargs):
        self.asked.append((title, text))
        return self.answers.pop(0) if self.answers else self.default_answer

    def critical(self, parent, title, text, *args, **kwargs):
        self.errors.append((title, text))
        return QMessageBox.StandardButton.Ok

    def information(self, parent, title, text, *args, **kwargs):
        self.infos.append((title, text))
        return QMessageBox.StandardButton.Ok


@pytest.fixture(autouse=True, scope="session")
def torch_loaded() -> None:
    """The window no longer imports torch (the app loads it in the background once shown),
    so the first data check (torchvision's transforms) or run would pay those cold imports
    inside one test's timeout; pay them once here."""
    import torch  # noqa: F401
    import torchvision  # noqa: F401

    import workbench.data  # noqa: F401


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch) -> Path:
    """Where runs started from the window go (the Trainer's default is ./runs)."""
    path = tmp_path / "runs"
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def dialogs(monkeypatch) -> Dialogs:
    d = Dialogs()
    monkeypatch.setattr(QMessageBox, "question", d.question)
    monkeypatch.setattr(QMessageBox, "warning", d.critical)
    monkeypatch.setattr(QMessageBox, "critical", d.critical)
    monkeypatch.setattr(QMessageBox, "information", d.information)
    monkeypatch.setattr(QMessageBox, "about", lambda *a, **k: d.infos.append(a[1:]))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (d.open_path, ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (d.save_path, ""))
    return d


SMALL = {
    "format": "model-workbench-project",
    "version": 1,
    "name": "small",
    "graph": {
        "nodes": [
            {"id": "image", "type": "Input", "params": {"shape": [1, 8, 8]}, "pos": [0, 0]},
            {"id": "conv", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3}, "pos": [0, 120]},
            {"id": "flat", "type": "Flatten", "params": {}, "pos": [0, 240]},
            {"id": "fc", "type": "Linear", "params": {"out_features": 10}, "pos": [0, 360]},
            {"id": "out", "type": "Output", "params": {}, "pos": [0, 480]},
            {"id": "lstm", "type": "LSTM", "params": {}, "pos": [400, 120]},
        ],
        "edges": [
            {"source": "image", "target": "conv"},
            {"source": "conv", "target": "flat"},
            {"source": "flat", "target": "fc"},
            {"source": "fc", "target": "out"},
        ],
    },
}


@pytest.fixture
def make_window(qtbot):
    from workbench.ui.main_window import MainWindow

    def make(source=None, **kwargs) -> "MainWindow":
        if source is None:
            project = project_from_dict(SMALL)
        elif isinstance(source, dict):
            project = project_from_dict(source)
        else:
            project = load_project(Path(source))
        window = MainWindow(project, **kwargs)
        qtbot.addWidget(window)
        window.resize(1300, 850)
        window.show()
        qtbot.waitExposed(window)
        window.view.resetTransform()
        window.view.centerOn(200, 250)
        return window

    return make


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def digits_window(make_window):
    return make_window(DEFAULT_EXAMPLE)


def view_point(window, scene_pos: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_pos)


def mouse_drag(window, start: QPointF, end: QPointF, steps: int = 4) -> None:
    """Press at `start`, move in steps, release at `end` (scene coordinates), as a user would."""
    viewport = window.view.viewport()
    a, b = view_point(window, start), view_point(window, end)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, steps + 1):
        p = a + (b - a) * (i / steps)
        QTest.mouseMove(viewport, p)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def settle(window) -> None:
    """Let the coalesced re-inference run (one zero-ms timer)."""
    window.document.flush()
