"""Stop and pause a run from another thread (the GUI, a signal handler).

The loop reads one plain attribute per batch (`pending`); only when something was asked
does it take the slow path. Pausing blocks the training thread on an Event, which costs
no CPU, and stop wakes a paused run so it can end cleanly.
"""

from __future__ import annotations

import threading

__all__ = ["RunControl"]


class RunControl:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._running.set()
        self._stop = False
        self.pending = False  # fast-path flag read by the loop every batch
        self.stopped_by = "the user"  # who asked, for the run's message ("SIGTERM" from a signal)

    def stop(self, by: str = "") -> None:
        with self._lock:
            if by and not self._stop:
                self.stopped_by = by
            self._stop = True
            self.pending = True
            self._running.set()  # a paused run must wake to stop

    def pause(self) -> None:
        with self._lock:
            if not self._stop:
                self._running.clear()
                self.pending = True

    def resume(self) -> None:
        with self._lock:
            self._running.set()
            self.pending = self._stop

    @property
    def stop_requested(self) -> bool:
        return self._stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block until resumed or stopped; True when running again (False: timed out)."""
        return self._running.wait(timeout)
