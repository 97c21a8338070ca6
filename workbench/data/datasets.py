"""The Dataset classes every source hands out; each item is `((inputs...), target)`.

All of them are plain, picklable objects so a DataLoader may use worker processes.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


class TensorSet(Dataset):
    """Whole tensors in memory: `inputs` a tuple of [N, ...] tensors, `target` [N, ...]."""

    def __init__(self, inputs: tuple[torch.Tensor, ...], target: torch.Tensor) -> None:
        if any(len(x) != len(target) for x in inputs):
            raise ValueError("every input tensor needs one row per target")
        self.inputs = tuple(inputs)
        self.target = target

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, index: int):
        return tuple(x[index] for x in self.inputs), self.target[index]

    def tensors(self) -> tuple:
        return self.inputs, self.target


class ReconstructionSet(Dataset):
    """The single input is also the target (autoencoders)."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        inputs, _ = self.base[index]
        return inputs, inputs[0]


class ReorderedSet(Dataset):
    """The inputs of `base` in another order: new input j is old input order[j]."""

    def __init__(self, base: Dataset, order: tuple[int, ...]) -> None:
        self.base = base
        self.order = order

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        inputs, target = self.base[index]
        return tuple(inputs[i] for i in self.order), target


def materialise(dataset: Dataset) -> tuple:
    """Stack every item of a map-style dataset into `((inputs...), target)` tensors."""
    items = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
    if not items:
        raise ValueError("cannot materialise an empty dataset")
    n_inputs = len(items[0][0])
    inputs = tuple(torch.stack([item[0][k] for item in items]) for k in range(n_inputs))
    target = torch.stack([torch.as_tensor(item[1]) for item in items])
    return inputs, target
