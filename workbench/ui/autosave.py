"""Autosave to a recovery file, and the offer to recover after a crash.

While a document has unsaved changes, a recovery copy is written 30 s after the first
change since the last copy. Saving or closing normally deletes it, so a recovery file
found at start-up means the app did not close normally. Each recovery file is a
regular project document plus a "recovery" key (original path, pid, time).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QTimer

from workbench.core.jsonfile import load_json
from workbench.core.project import atomic_write_text
from workbench.processes import pid_alive
from workbench.ui.settings import data_dir

INTERVAL_MS = 30_000
KEY = "recovery"


def recovery_dir() -> Path:
    return data_dir() / "recovery"


def _alive(pid: int) -> bool:
    return pid != os.getpid() and pid_alive(pid)
    return True


def pending_recoveries() -> list[Path]:
    """Recovery files left by sessions that are no longer running, newest first."""
    folder = recovery_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.wbproj"):
        try:
            info = load_json(path).get(KEY, {})
        except (OSError, ValueError, AttributeError):
            info = {}
        if isinstance(info, dict) and isinstance(info.get("pid"), int) and _alive(info["pid"]):
            continue  # another running window's autosave
        found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def load_recovery(path: Path):
    """The recovered Project (path = the file it came from, if any). Raises ProjectError."""
    from workbench.core.project import load_project

    project = load_project(path)
    info = project.extra.pop(KEY, {})
    original = info.get("path") if isinstance(info, dict) else None
    project.path = Path(original) if original else None
    return project


def discard(paths) -> None:
    for path in paths:
        try:
            Path(path).unlink()
        except OSError:
            pass


class Autosave(QObject):
    def __init__(self, document, interval_ms: int = INTERVAL_MS, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.path = recovery_dir() / f"{uuid.uuid4().hex}.wbproj"
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        document.undo_stack.indexChanged.connect(self._changed)
        document.modified_changed.connect(self._modified)
        if document.is_modified:
            self._changed()

    def _changed(self, *_args) -> None:
        if not shiboken6.isValid(self.document.undo_stack):
            return
        if self.document.is_modified and not self.timer.isActive():
            self.timer.start()

    def _modified(self, modified: bool) -> None:
        if not modified:
            self.timer.stop()
            self.remove()

    def save_now(self) -> Path | None:
        if not self.document.is_modified:
            return None
        doc = self.document.to_dict()
        path = self.document.path
        doc[KEY] = {"path": str(path) if path else None, "pid": os.getpid(), "time": time.time()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(doc, indent=1, ensure_ascii=False))
        except OSError:
            return None
        return self.path

    def remove(self) -> None:
        discard([self.path])

    def stop(self) -> None:
        """The document is closing normally: no recovery needed."""
        self.timer.stop()
        self.remove()
