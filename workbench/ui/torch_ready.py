"""PyTorch, imported once on a background thread after the window is up.

Importing torch costs seconds, and nothing needed to show, edit or check a model waits
for it (the catalog, shapes, FLOPs and the summary are torch-free). The app starts the
import once the project is on screen (`start`); a view that shows something only torch
can tell (the devices found) asks `when_loaded`, which calls back on the main thread when
the import is done, at once when torch is already there. Building, training, evaluating
and exporting import what they need themselves, so they never depend on this having run.
"""

from __future__ import annotations

import sys
import threading
from typing import Callable

from PySide6.QtCore import QObject, Signal

__all__ = ["is_loaded", "start", "when_loaded"]


class _Relay(QObject):
    """Carries the worker's result to the main thread (a queued signal)."""

    finished = Signal(str)


_relay: _Relay | None = None
_waiting: list[Callable[[str], None]] = []
_started = False
_error: str | None = None  # None until the background import has finished


def is_loaded() -> bool:
    """The import is over: torch is there (or failed to load) and nothing is still loading it."""
    return _error is not None if _started else "torch" in sys.modules


def when_loaded(callback: Callable[[str], None]) -> None:
    """Call `callback(error)` on the main thread once torch is imported ("" on success)."""
    if is_loaded():
        callback(_error or "")
    else:
        _waiting.append(callback)


def start(work: Callable[[], None] | None = None) -> None:
    """Import torch, then run `work` (plugin loading, warm-ups), on a daemon thread; once.

    Call from the main thread: the callbacks run there, through a queued signal."""
    global _relay, _started
    if _started:
        return
    _started = True
    _relay = _Relay()
    _relay.finished.connect(_finish)

    def run() -> None:
        try:
            import torch  # noqa: F401

            if work is not None:
                work()
        except Exception as exc:  # a broken install: the views say so instead of crashing
            _report(f"loading PyTorch failed: {type(exc).__name__}: {exc}")
            return
        _report("")

    threading.Thread(target=run, name="load-torch", daemon=True).start()


def _report(error: str) -> None:
    try:
        _relay.finished.emit(error)
    except RuntimeError:  # the app quit while torch was loading: nobody is waiting
        pass


def _finish(error: str) -> None:
    global _error
    _error = error
    callbacks, _waiting[:] = list(_waiting), []
    for callback in callbacks:
        callback(error)
