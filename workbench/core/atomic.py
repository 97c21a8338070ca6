"""Atomic file replacement: the one writer every save goes through.

The bytes go to `.<name>.<random>.tmp` in the target's folder, are fsynced, and the temp
file is renamed over the target (then the folder is fsynced), so a crash or a full disk
mid-save leaves the previous file as it was. The new file keeps the previous file's
permission bits (a 0664 project stays 0664), or gets 0666 & ~umask like any new file:
`mkstemp`'s 0600 would silently make a shared file private. Temp files left by an
interrupted save of the same target (and only those: same name pattern, regular files)
are removed before writing, which also gives their space back to a nearly full disk.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "remove_stale_temps", "replace_file", "temp_name_pattern"]

# the random part: 16 hex digits (ours), or mkstemp's 8 characters (older versions' litter)
_RANDOM = r"(?:[0-9a-f]{16}|[a-z0-9_]{8})"


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_bytes(target: Path, payload: bytes) -> None:
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    remove_stale_temps(target)
    mode = _previous_mode(target)
    tmp = folder / f".{target.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)  # umask applies
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:  # before any byte is written
                _set_mode(fd, tmp, mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename != str(target):
            # name the target, not our temp file
            raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
        raise
    _fsync_folder(folder)


def replace_file(source: Path, target: Path) -> None:
    """Move a finished file over `target` (same file system) with the target's permission
    bits: for writers that stage whole files elsewhere first (exports)."""
    target = Path(target)
    mode = _previous_mode(target)
    if mode is not None:
        os.chmod(source, mode)
    os.replace(source, target)
    _fsync_folder(target.parent if str(target.parent) else Path("."))


def temp_name_pattern(target: Path) -> re.Pattern:
    """The names of `target`'s temp files: `.<name>.<random>.tmp`, nothing else."""
    return re.compile(rf"\.{re.escape(Path(target).name)}\.{_RANDOM}\.tmp")


def remove_stale_temps(target: Path) -> list[Path]:
    """Delete temp files an interrupted save of `target` left behind; returns them."""
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    pattern = temp_name_pattern(target)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not pattern.fullmatch(name):
            continue
        path = folder / name
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):  # never a link, folder or device
                os.unlink(path)
                removed.append(path)
        except OSError:
            continue
    return removed


def _previous_mode(target: Path) -> int | None:
    """The permission bits the target has now; None for a new file (the umask decides)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode) & 0o777
    except OSError:  # absent (or unreadable: the write will say why)
        return None


def _set_mode(fd: int, path: Path, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows: only the read-only bit exists
        os.chmod(path, mode)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
