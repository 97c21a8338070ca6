"""Train/validation splits: a seeded shuffle, the same split for the same seed everywhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.data.errors import DataError

if TYPE_CHECKING:  # read_val_fraction is used where torch is not loaded yet (data facts, the Data dock)
    import torch

DEFAULT_VAL_FRACTION = 0.2


def read_val_fraction(data_cfg: dict) -> float:
    value = data_cfg.get("val_fraction", DEFAULT_VAL_FRACTION)
    if value is None:
        return DEFAULT_VAL_FRACTION
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise DataError(f"data.val_fraction must be a number from 0 (no validation) up to but not including 1, got {value!r}")
    return float(value)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, val) index tensors. Both sides keep at least one sample when n >= 2."""
    import torch

    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator)
    n_val = round(n * val_fraction)
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    else:
        n_val = 0
    return order[n_val:], order[:n_val]


def split_tensors(inputs: tuple, target: torch.Tensor, val_fraction: float, seed: int) -> tuple[tuple, tuple | None]:
    """Split whole tensors: ((inputs, target) train, (inputs, target) val or None)."""
    train_idx, val_idx = split_indices(len(target), val_fraction, seed)
    train = (tuple(x[train_idx] for x in inputs), target[train_idx])
    if len(val_idx) == 0:
        return train, None
    return train, (tuple(x[val_idx] for x in inputs), target[val_idx])
