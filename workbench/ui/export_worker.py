"""The export off the UI thread: a QObject worker moved to a QThread by the Export dialog.

It rebuilds the project from a snapshot (a plain dict taken on the UI thread, so edits
made meanwhile do not race with it), runs `workbench.export.export`, and answers with one
`Outcome` through a queued signal. It never touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

__all__ = ["ExportWorker", "Outcome"]


@dataclass
class Outcome:
    """What one export ended with: a report (verified or not), or an error message."""

    report: object | None = None  # ExportReport
    error: str | None = None
    node_id: str | None = None


class ExportWorker(QObject):
    """Exports a project snapshot on whatever thread it lives on; answers with `done`."""

    done = Signal(object)  # an Outcome

    def __init__(self, snapshot: dict, catalog, options: dict) -> None:
        super().__init__()
        self.snapshot, self.catalog, self.options = snapshot, catalog, options

    @Slot()
    def run(self) -> None:
        try:
            self.done.emit(self._export())
        except BaseException as exc:  # noqa: B036 - never let an exception die silently on a thread
            self.done.emit(Outcome(error=f"the export failed unexpectedly: {type(exc).__name__}: {exc}"))
        finally:
            QThread.currentThread().quit()

    def _export(self) -> Outcome:
        from workbench.core.project import project_from_dict
        from workbench.export import ExportError, export

        project = project_from_dict(self.snapshot, self.catalog)
        try:
            return Outcome(report=export(project, **self.options))
        except ExportError as exc:
            return Outcome(error=exc.reason, node_id=exc.node_id)
