"""What a source is asked for, and the helper that turns whole tensors into a DataBundle."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from workbench.core.tensors import FLOAT, INT, TensorInfo
from workbench.data.bundle import DataBundle
from workbench.data.datasets import TensorSet
from workbench.data.params import Params

# Float tensors up to this size are built in memory whole (and offered to the Trainer);
# larger image sets stay lazy and are decoded per item.
IN_MEMORY_BYTES = 768 * 2**20
# Sets decoded from many files (image or audio folders) are read up front only up to this
# size: reading the files is the slow part.
EAGER_FILE_BYTES = 256 * 2**20


@dataclass
class Request:
    source: str
    params: Params
    inputs: dict[str, TensorInfo]  # the graph's Input nodes, in graph order
    seed: int
    base_dir: Path
    val_fraction: float
    reconstruction: bool = False  # data.target == "input": the sources skip standardisation

    def input_info(self, position: int = 0, name: str | None = None) -> TensorInfo | None:
        """The graph Input called `name`, else the one at `position`, else None."""
        if name is not None and name in self.inputs:
            return self.inputs[name]
        infos = list(self.inputs.values())
        return infos[position] if position < len(infos) else None


@dataclass
class Generated:
    """Whole tensors made by a generator, before the split."""

    inputs: tuple[torch.Tensor, ...]
    target: torch.Tensor
    task: str
    names: tuple[str, ...]
    modality: str
    classes: list[str] | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)


def dtype_name(dtype: torch.dtype) -> str:
    return INT if dtype in (torch.int64, torch.int32, torch.uint8) else FLOAT


def info_of(tensor: torch.Tensor) -> TensorInfo:
    """Per-sample TensorInfo of a batch-first tensor."""
    return TensorInfo(tuple(int(d) for d in tensor.shape[1:]), dtype_name(tensor.dtype))


def tensor_bundle(train: tuple, val: tuple | None, **meta) -> DataBundle:
    """A bundle of in-memory sets from `(inputs, target)` tensor pairs; `meta` as for
    dataset_bundle. The Trainer gets the tensors too."""
    inputs, target = train
    bundle = dataset_bundle(
        TensorSet(inputs, target),
        TensorSet(*val) if val is not None else None,
        input_infos=tuple(info_of(x) for x in inputs),
        target_info=info_of(target),
        **meta,
    )
    bundle.train_tensors = (tuple(inputs), target)
    bundle.val_tensors = (tuple(val[0]), val[1]) if val is not None else None
    return bundle


def dataset_bundle(
    train,
    val,
    *,
    input_infos: tuple[TensorInfo, ...],
    target_info: TensorInfo,
    task: str,
    names: tuple[str, ...],
    source: str,
    modality: str,
    classes: list[str] | None = None,
    description: str = "",
    extra: dict | None = None,
) -> DataBundle:
    """A bundle of (possibly lazy) Datasets, described by per-sample infos."""
    return DataBundle(
        train=train,
        val=val,
        task=task,
        input_names=tuple(names),
        classes=classes,
        target_width=int(target_info.shape[0]) if task == "regression" else None,
        description=description,
        extra=dict(extra or {}),
        source=source,
        modality=modality,
        input_infos=tuple(input_infos),
        target_info=target_info,
    )


def standardise(train: torch.Tensor, *others: torch.Tensor, dims=None) -> tuple:
    """Scale every tensor by the train split's mean and std, reduced over `dims` (None: one
    scalar over everything). Returns (train, *others, mean, std); a zero std counts as 1.
    """
    if dims is None:
        mean, std = train.mean(), train.std()
    else:
        mean, std = train.mean(dim=dims, keepdim=True), train.std(dim=dims, keepdim=True)
    std = torch.where(std > 0, std, torch.ones_like(std))
    scaled = [(x - mean) / std for x in (train, *others)]
    return (*scaled, mean, std)
