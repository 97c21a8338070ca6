"""The modules behind Reshape, Permute and Transpose (see workbench/core/layers/shape.py)."""

from __future__ import annotations

from torch import nn


class Reshape(nn.Module):
    """Reshape each sample to `shape`; the batch dimension is kept."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self):
        return f"shape={self.shape}"


class Permute(nn.Module):
    """Reorder dimensions; `dims` is a full permutation with the batch (0) first."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x):
        return x.permute(self.dims)

    def extra_repr(self):
        return f"dims={self.dims}"


class Transpose(nn.Module):
    """Swap two dimensions."""

    def __init__(self, dim0, dim1):
        super().__init__()
        self.dim0 = dim0
        self.dim1 = dim1

    def forward(self, x):
        return x.transpose(self.dim0, self.dim1)

    def extra_repr(self):
        return f"dim0={self.dim0}, dim1={self.dim1}"
