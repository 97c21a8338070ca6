"""Where a data section's paths point: one resolution for every source and every view.

A relative path (a CSV file, an image or audio folder, a dataset root, a text corpus) is
relative to the folder of the project file, so a project travels with its data and never
depends on where the program was started; an unsaved project has no folder, so its paths
are relative to the current working directory. Paths are used and shown resolved
(absolute, `~` expanded, `..` and symbolic links followed): every message, the data check
and the Data dock name the place that is really read, and a download writes there only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

from workbench.data.errors import DataError

__all__ = ["default_datasets_root", "data_base_dir", "rebase_data_paths", "resolve_data_path", "path_kind", "check_download_root"]



def default_datasets_root() -> Path:
    """Where torchvision and SpeechCommands sets are read from (and downloaded into) when the
    data section names no `root`: one folder per user, so every project and every copy of a
    bundled example shares one download, and nothing is written into the installation."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("model-workbench")) / "datasets"


def data_base_dir(project_path: str | os.PathLike | None) -> Path:
    """The folder relative data paths start from: the project file's, else the cwd."""
    if not project_path:
        return Path.cwd()
    return Path(os.path.abspath(Path(project_path).expanduser())).parent


PATH_PARAMS = ("path", "root", "val_path", "tokenizer_file")  # what the sources read with Params.path


def rebase_data_paths(data: dict, old_base: str | os.PathLike) -> dict:
    """A copy of a data section whose relative paths name the same files from any folder:
    an untitled copy of a project (a bundled example opened as a template) has no folder
    of its own, so its relative paths are made absolute against the one it came from."""
    import copy

    rebased = copy.deepcopy(data) if isinstance(data, dict) else data
    params = rebased.get("params") if isinstance(rebased, dict) else None
    if isinstance(params, dict):
        for name in PATH_PARAMS:
            value = params.get(name)
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                params[name] = os.path.normpath(os.path.join(os.path.abspath(old_base), value))
    return rebased


def resolve_data_path(value: str, base_dir: str | os.PathLike) -> Path:
    """The absolute, symlink-free path `value` names; ValueError for a string that cannot
    be a path (empty, or with a NUL character)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an empty path")
    if "\x00" in value:
        raise ValueError("a NUL character")
    try:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = Path(base_dir).expanduser() / path
    except RuntimeError:  # "~someone" with no such user
        raise ValueError(f"no home folder for {value.split('/')[0]}") from None
    return Path(os.path.realpath(path))


def path_kind(path: Path) -> str:
    """"file" (regular), "folder", "other" (a device, a pipe...) or "missing"; never raises:
    a path that cannot be looked up (too long, no permission) gives "unusable (<why>)"."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except (OSError, ValueError) as exc:
        return f"unusable ({getattr(exc, 'strerror', None) or exc})"
    return "file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) else "other"


def check_download_root(root: Path, writes: Iterable[str], field: str) -> None:
    """Refuse a download that could land outside `root`: the root must be a folder (or
    not exist yet), and nothing on the way to what the download writes (`writes`, paths
    relative to the root) may be a symbolic link, which would carry the files elsewhere."""
    if path_kind(root) not in ("folder", "missing"):
        raise DataError(f"{field} names {root}, which is not a folder; a download needs a folder to write into")
    for relative in writes:
        path = root
        for part in Path(relative).parts:
            path = path / part
            if path.is_symlink():
                raise DataError(f"{field}: {path} is a symbolic link (to {os.path.realpath(path)}); a download "
                                f"writes only under {root}, so replace the link with a folder or turn download off")
            if not path.exists():
                break
