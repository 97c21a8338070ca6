"""The modules behind Mean/Sum/Max, MatMul and Scale (see workbench/core/layers/reduce.py)."""

from __future__ import annotations

import torch
from torch import nn


class Reduce(nn.Module):
    """Mean, sum or max over `dims` (batch counted as 0), keeping them as size 1 if asked."""

    def __init__(self, mode, dims, keepdim=False):
        super().__init__()
        if mode not in ("mean", "sum", "max"):
            raise ValueError(f"mode must be 'mean', 'sum' or 'max', got {mode!r}")
        self.mode, self.dims, self.keepdim = mode, tuple(dims), keepdim

    def forward(self, x):
        if self.mode == "mean":
            return x.mean(dim=self.dims, keepdim=self.keepdim)
        if self.mode == "sum":
            return x.sum(dim=self.dims, keepdim=self.keepdim)
        return x.amax(dim=self.dims, keepdim=self.keepdim)

    def extra_repr(self):
        return f"mode={self.mode!r}, dims={self.dims}, keepdim={self.keepdim}"


class MatMul(nn.Module):
    """torch.matmul of two batched inputs (a @ b over the last two dimensions)."""

    def forward(self, a, b):
        return torch.matmul(a, b)


class Scale(nn.Module):
    """Multiply by a constant (learnable: a trained scalar starting at `value`)."""

    def __init__(self, value=1.0, learnable=False):
        super().__init__()
        if learnable:
            self.value = nn.Parameter(torch.tensor(float(value)))
        else:
            self.register_buffer("value", torch.tensor(float(value)), persistent=False)

    def forward(self, x):
        return x * self.value
