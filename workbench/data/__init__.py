"""Dataset sources, splits and augmentation (Qt-free).

`load_data(data_cfg, inputs, seed, base_dir)` turns a project's "data" section into a
DataBundle; `check_compatibility(...)` says, before training, what does not fit.

The names are imported on first use (PEP 562), so the light modules of this package
(paths, params, download, facts) load without torch: the window and the quick commands
read them at start-up.
"""

import importlib

from workbench.data.errors import DataError

_LAZY = {"TASKS": "bundle", "DataBundle": "bundle", "check_compatibility": "checks", "describe_paths": "checks",
         "load_data": "load", "SOURCES": "sources"}

__all__ = ["DataBundle", "DataError", "TASKS", "SOURCES", "check_compatibility", "describe_paths", "load_data"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
