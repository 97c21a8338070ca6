"""Training off the UI thread: a QObject worker moved to a QThread.

The worker builds the run from a snapshot of the project (a plain dict taken on the UI
thread, so later edits do not reach the running model), calls `prepare()` then `fit()`,
and puts every event on a `queue.SimpleQueue` that the dashboard drains from a timer. It
never touches a widget. Stop, pause and resume go through the Trainer's `RunControl`
(a flag read after every batch); a thread is never terminated: `shutdown()` asks the run
to stop and joins the thread.

Besides the Trainer's events (training/events.py) the worker adds one of its own:

    setup_error  {"message"}: the run could not start (bad settings, data that does not
                 fit the graph, ...); followed by a "state" event "failed".
"""

from __future__ import annotations

import os
import queue
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

__all__ = ["TrainingWorker", "TrainingRun", "warm_up_torch", "worker_threads"]


def worker_threads() -> int:
    """Intra-op threads for the training thread: leave one core to the UI."""
    return max(1, (os.cpu_count() or 1) - 1)


_warmed = False


def warm_up_torch() -> None:
    """Import torch and build one throwaway optimizer on the calling (UI) thread, once:
    the first optimizer pulls in torch._dynamo, which stalls whichever thread imports it
    while holding the GIL (DESIGN.md section 4)."""
    global _warmed
    if _warmed:
        return
    import torch

    import workbench.data  # noqa: F401  (the data sources, imported by prepare())
    import workbench.training.session  # noqa: F401

    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1).step()
    _warmed = True


class TrainingWorker(QObject):
    """Runs one training session on whatever thread it lives on; reports only through the queue."""

    def __init__(self, snapshot: dict, path: Path | None, events: queue.SimpleQueue, control, *,
                 overrides: dict | None = None, runs_dir: Path | None = None, callbacks=(),
                 resume: Path | None = None) -> None:
        super().__init__()
        self.resume = resume
        self.callbacks = tuple(callbacks)  # extra Trainer callbacks; they run on the training thread
        self.snapshot = snapshot
        self.path = path
        self.events = events
        self.control = control
        self.overrides = overrides
        self.runs_dir = runs_dir

    @Slot()
    def run(self) -> None:
        from workbench.training.events import EventQueue, event

        try:
            self._run(EventQueue(self.events))
        except BaseException as exc:  # noqa: B036 - never let an exception die silently on a thread
            self.events.put(event("setup_error", message=f"{type(exc).__name__}: {exc}"))
            self.events.put(event("state", state="failed", message=str(exc)))
        finally:
            QThread.currentThread().quit()  # thread-safe; works while the UI thread waits on us

    def _run(self, sink) -> None:
        import torch

        from workbench.core.project import ProjectError, project_from_dict
        from workbench.data import DataError
        from workbench.training.events import event
        from workbench.training.session import SetupError, prepare

        threads = worker_threads()
        torch.set_num_threads(threads)
        try:
            project = project_from_dict(self.snapshot)
            project.path = self.path
            session = prepare(project, overrides=self.overrides, runs_dir=self.runs_dir, callbacks=[sink, *self.callbacks],
                              control=self.control, num_threads=threads, resume=self.resume)
        except (SetupError, DataError, ProjectError) as exc:
            self.events.put(event("setup_error", message=str(exc)))
            self.events.put(event("state", state="failed", message=str(exc)))
            return
        session.fit()


class TrainingRun(QObject):
    """One run: its thread, worker, control flags and event queue (lives on the UI thread)."""

    finished = Signal()  # the thread has ended (delivered on the UI thread)

    def __init__(self, project, *, overrides: dict | None = None, runs_dir: Path | None = None, callbacks=(),
                 resume: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from workbench.training.control import RunControl

        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.control = RunControl()
        snapshot = project.to_dict()
        self.worker = TrainingWorker(snapshot, project.path, self.events, self.control,
                                     overrides=overrides, runs_dir=runs_dir, callbacks=callbacks,
                                     resume=Path(resume) if resume else None)
        self.thread = QThread()
        self.thread.setObjectName("training")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.thread.finished.connect(self.finished)

    def start(self) -> None:
        self.thread.start()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    @property
    def running(self) -> bool:
        return self.thread.isRunning()

    def drain(self) -> list[dict]:
        out: list[dict] = []
        get = self.events.get_nowait
        while True:
            try:
                out.append(get())
            except queue.Empty:
                return out

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop the run and join its thread (the run keeps its checkpoint); True when it ended."""
        self.control.stop()
        return self.thread.wait(timeout_ms)  # True at once for a thread never started
