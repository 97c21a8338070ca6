"""Write export artifacts next to their final place, move them in only when complete.

A failed or interrupted export must never leave a half-written file under the user's
chosen name, nor destroy the previous one: every file is written into a hidden temporary
folder beside the target, then moved over the target names (os.replace, atomic on one
file system) once the artifact exists and has been checked.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from workbench.core.atomic import replace_file
from workbench.export.errors import ExportError

__all__ = ["Staging", "folder_problem"]


def folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot receive files (it is missing, or a file), in words; None when it is a folder.

    A missing folder is not created: a mistyped -o path should be reported, not made."""
    folder = Path(folder)
    try:
        if folder.is_dir():
            return None
        for place in (folder, *folder.parents):
            if place.exists():
                return f"{place} is a file, not a folder" if not place.is_dir() else f"the folder {folder} does not exist"
    except OSError as exc:  # e.g. a folder above it that may not be searched
        return exc.strerror or str(exc)
    return f"the folder {folder} does not exist"


class Staging:
    """with Staging(target_dir) as stage: write stage.path("model.onnx"); stage.commit()."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._tmp: Path | None = None

    def __enter__(self) -> "Staging":
        problem = folder_problem(self.folder)
        try:
            if problem is None:
                self._tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=self.folder))
        except OSError as exc:
            problem = exc.strerror or str(exc)
        if problem is not None:
            raise ExportError(f"cannot write into {self.folder}: {problem}")
        return self

    def path(self, name: str) -> Path:
        """Where to write the file that will become `folder/name`."""
        assert self._tmp is not None, "use Staging as a context manager"
        return self._tmp / name

    def commit(self) -> list[Path]:
        """Move every staged file to its final name; returns the final paths."""
        assert self._tmp is not None
        moved = []
        for item in sorted(self._tmp.iterdir()):
            if not item.is_file():
                continue  # e.g. a __pycache__ left by verification
            final = self.folder / item.name
            replace_file(item, final)  # keeps the previous file's permission bits
            moved.append(final)
        return moved

    def __exit__(self, *exc_info) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
