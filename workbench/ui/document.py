"""One open project: its graph, undo stack, and live shape inference.

Every edit the UI makes goes through `Document.push` (a core command on the
QUndoStack). Graph events are coalesced with a zero-ms single-shot timer, so one edit
(even a macro of twenty commands) costs one re-inference, announced by `inferred`.
Torch is imported lazily here: the main window can be shown before it is loaded.
"""

from __future__ import annotations

from pathlib import Path

import shiboken6

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from workbench.core.commands import Command
from workbench.core.graph import GraphError, GraphEvent
from workbench.core.project import Project
from workbench.ui.undo import UndoCommand, push


class Document(QObject):
    inferred = Signal(object)  # InferenceResult, after every batch of edits
    modified_changed = Signal(bool)

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from workbench.core.shapes import ShapeInference

        self.project = project
        self.graph = project.graph
        self.undo_stack = QUndoStack(self)
        self.inference = ShapeInference(self.graph)
        self.result = self._infer()
        self._summary = None
        self._summary_for = None
        self._forced_dirty = False
        self._last: UndoCommand | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._refresh)
        self.graph.subscribe(self._on_graph_event)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.undo_stack.indexChanged.connect(self._data_maybe_changed)

    # ---- editing ---------------------------------------------------------------
    def push(self, command: Command, mergeable: bool = True) -> str | None:
        """Do and record `command`; returns the refusal message, or None when it worked."""
        try:
            self._last = push(self.undo_stack, self.graph, command, mergeable)
        except GraphError as exc:
            return str(exc)
        return None

    def seal(self) -> None:
        """Stop the latest command from merging with the next (a field lost focus)."""
        if self._last is not None:
            self._last.sealed = True

    def _clean_changed(self, _clean: bool) -> None:
        if shiboken6.isValid(self) and shiboken6.isValid(self.undo_stack):  # also emitted while Qt destroys it
            self.modified_changed.emit(self.is_modified)

    # ---- shapes ------------------------------------------------------------------
    def _on_graph_event(self, event: GraphEvent) -> None:
        if event.kind != "node_moved":
            self._timer.start()

    def _refresh(self) -> None:
        self.result = self._infer()
        self.inferred.emit(self.result)

    def _infer(self):
        """Inference of the graph as it will train: sizes it takes from the data
        ({"from_data": ...}) are filled in from the data section first, on a copy."""
        from workbench.data.facts import project_graph

        graph = project_graph(self.project)
        if graph is self.graph:
            return self.inference.result()
        from workbench.core.shapes import infer_shapes

        return infer_shapes(graph)

    def _data_maybe_changed(self, _index: int) -> None:
        """An undo step may have changed the data section, and with it a size from the data."""
        from workbench.core.from_data import data_params

        if data_params(self.graph):
            self._timer.start()

    def flush(self) -> None:
        """Run a pending re-inference now (tests, and before reading `result`)."""
        if self._timer.isActive():
            self._timer.stop()
            self._refresh()

    def summary(self):
        """The model summary for the current result (cached per result)."""
        from workbench.core.summary import summarize

        if self._summary_for is not self.result:
            self._summary = summarize(self.graph, self.result)
            self._summary_for = self.result
        return self._summary

    # ---- file state ----------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        return self.project.path

    @property
    def display_name(self) -> str:
        return self.project.path.name if self.project.path else self.project.name

    @property
    def is_modified(self) -> bool:
        return self._forced_dirty or not self.undo_stack.isClean()

    def mark_modified(self) -> None:
        """A document that differs from its file without undo history (a recovered one)."""
        self._forced_dirty = True
        self.modified_changed.emit(True)

    def mark_saved(self, path: Path) -> None:
        self.project.path = Path(path)
        self._forced_dirty = False
        self.undo_stack.setClean()
        self.modified_changed.emit(False)

    def to_dict(self) -> dict:
        return self.project.to_dict()
