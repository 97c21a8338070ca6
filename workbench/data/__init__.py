"""Dataset sources, splits and augmentation (Qt-free).

`load_data(data_cfg, inputs, seed, base_dir)` turns a project's "data" section into a
DataBundle; `check_compatibility(...)` says, before training, what does not fit.
"""

from workbench.data.bundle import TASKS, DataBundle, DataError
from workbench.data.checks import check_compatibility, describe_paths
from workbench.data.load import load_data
from workbench.data.sources import SOURCES

__all__ = ["DataBundle", "DataError", "TASKS", "SOURCES", "check_compatibility", "describe_paths", "load_data"]
