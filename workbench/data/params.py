"""Reading a data source's `params` with messages that name the field.

Every getter raises DataError("data.params.<name> ...") on a wrong type or value, so a
typo in a project file never turns into a traceback or a silently ignored setting.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from workbench.core.text import shorten
from workbench.data.errors import DataError
from workbench.data.paths import path_kind, resolve_data_path

_MISSING = object()


class Params:
    def __init__(self, params: Any, source: str, prefix: str = "data.params") -> None:
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise DataError(f"{prefix} must be an object of named values, got {type(params).__name__}")
        self._params = params
        self.source = source
        self.prefix = prefix
        self.resolved: dict[str, Path] = {}  # field -> the absolute path it named (see path())

    def __contains__(self, name: str) -> bool:
        return self._params.get(name) is not None

    def field(self, name: str) -> str:
        return f"{self.prefix}.{shorten(str(name), 60)}"

    def error(self, name: str, message: str) -> DataError:
        return DataError(shorten(f"{self.field(name)} {message}", 500))  # a value from a file may be huge

    def check_known(self, known) -> None:
        """Refuse parameters this source does not read (usually a typo)."""
        unknown = sorted(set(self._params) - set(known))
        if unknown:
            listed = ", ".join(sorted(known)) or "none"
            raise DataError(f"{self.field(unknown[0])} is not a parameter of {self.source} (known: {listed})")

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        if name in self._params and self._params[name] is not None:
            return self._params[name]
        if default is _MISSING:
            raise DataError(f"{self.field(name)} is required for {self.source}")
        return default

    def str(self, name: str, default: Any = _MISSING, choices=None) -> str:
        value = self.raw(name, default)
        if not isinstance(value, str) or not value:
            raise self.error(name, f"must be a non-empty string, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def bool(self, name: str, default: Any = _MISSING) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {value!r}")
        return value

    def int(self, name: str, default: Any = _MISSING, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(name, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"must be a whole number, got {value!r}")
        _check_range(self, name, value, minimum, maximum)
        return value

    def float(self, name: str, default: Any = _MISSING, minimum: float | None = None, maximum: float | None = None) -> float:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(name, f"must be a number, got {value!r}")
        _check_range(self, name, float(value), minimum, maximum)
        return float(value)

    def str_list(self, name: str, default: Any = _MISSING) -> list[str] | None:
        value = self.raw(name, default)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.error(name, f"must be a list of names, got {value!r}")
        return list(value)

    def path(self, name: str, base_dir: Path, default: Any = _MISSING, kind: str = "file", exists: bool = True) -> Path:
        """A file or folder path, resolved by `resolve_data_path` (relative: the project's
        folder) and recorded in `resolved`, so checks can show where the data really is."""
        value = self.str(name, default)
        try:
            path = resolve_data_path(value, base_dir)
        except ValueError as exc:
            raise self.error(name, f"is not a usable path ({exc}): {value!r}") from None
        self.resolved[self.field(name)] = path
        found = path_kind(path)
        if found.startswith("unusable"):
            raise self.error(name, f"names a path that is {found}: {path}")
        if kind == "folder" and found not in ("folder", "missing"):
            raise self.error(name, f"names {path}, which is not a folder")
        if exists and found == "missing":
            raise self.error(name, f"names a {kind} that does not exist: {path}")
        if exists and kind == "file" and found != "file":
            raise self.error(name, f"names {path}, which is not a regular file")
        return path


def _check_range(params: Params, name: str, value, minimum, maximum) -> None:
    if minimum is not None and value < minimum:
        raise params.error(name, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise params.error(name, f"must be at most {maximum}, got {value}")
