"""Where the app keeps its settings and recovery files, and the recent-files list.

Settings are an INI file under $XDG_CONFIG_HOME (read each time, so tests that point
the variable at a temp folder get a fresh file); recovery files live under
$XDG_DATA_HOME. Both fall back to the usual ~/.config and ~/.local/share.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

APP_DIR = "model-workbench"
MAX_RECENT = 10


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_DIR


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR


def settings() -> QSettings:
    path = config_dir() / "workbench.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


def recent_files() -> list[Path]:
    value = settings().value("recent_files", [])
    if isinstance(value, str):  # QSettings returns a lone string for a one-item list
        value = [value]
    return [Path(v) for v in value or [] if v]


def add_recent_file(path: Path) -> list[Path]:
    path = Path(path).resolve()
    files = [path] + [p for p in recent_files() if p != path]
    files = files[:MAX_RECENT]
    store = settings()
    store.setValue("recent_files", [str(p) for p in files])
    store.sync()
    return files


def remove_recent_file(path: Path) -> None:
    files = [p for p in recent_files() if p != Path(path)]
    store = settings()
    store.setValue("recent_files", [str(p) for p in files])
    store.sync()
