"""What a data source hands the Trainer: train/validation sets plus what they mean.

Every dataset item is `(inputs, target)` where `inputs` is a tuple with one tensor per
graph Input node (in the order of `DataBundle.input_names`) and `target` is a tensor:
  - "classification": int64 scalar class index;
  - "sequence": int64 [T] class index per position (token-level tasks, seq2seq);
  - "regression": float32 [k] values;
  - "reconstruction": float32, the same shape as the (single) input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.core.tensors import TensorInfo
from workbench.data.errors import DataError  # noqa: F401  (re-exported: the sources raise it from here)

TASKS = ("classification", "sequence", "regression", "reconstruction")


@dataclass
class DataBundle:
    train: "Dataset"  # torch.utils.data.Dataset (not imported: reading DataError needs no torch)
    val: "Dataset | None"
    task: str
    input_names: tuple[str, ...]
    classes: list[str] | None = None  # class names, for classification and sequence tasks
    target_width: int | None = None  # regression: k
    # Small in-memory sets expose their full tensors so the Trainer may move them to the
    # GPU whole: ((input tensors...), targets) with the batch first. None for lazy sets.
    train_tensors: tuple | None = None
    val_tensors: tuple | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)
    # What the data is, for messages and checks (see workbench.data.checks):
    source: str = ""  # how messages name it: "digits", "synthetic moons", "csv 'iris.csv'"
    modality: str = ""  # "images", "features", "waveforms" or "tokens"
    input_infos: tuple[TensorInfo, ...] = ()  # per sample, one per entry of input_names
    target_info: TensorInfo | None = None  # per-sample target: () int64 for class labels

    @property
    def num_classes(self) -> int | None:
        return len(self.classes) if self.classes is not None else None
