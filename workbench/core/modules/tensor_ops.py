"""The modules behind the tensor operations of workbench/core/layers/tensor_ops.py."""

from __future__ import annotations

import torch
from torch import nn


class Squeeze(nn.Module):
    """Remove the size-1 dimension `dim` (batch counted as 0)."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.squeeze(self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Unsqueeze(nn.Module):
    """Insert a size-1 dimension at `dim` (batch counted as 0)."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.unsqueeze(self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Split(nn.Module):
    """torch.split: pieces of `split_size` along `dim` (the last may be shorter), or of the
    listed sizes; returns a tuple."""

    def __init__(self, split_size, dim=1):
        super().__init__()
        self.split_size = split_size
        self.dim = dim

    def forward(self, x):
        return tuple(torch.split(x, self.split_size, dim=self.dim))

    def extra_repr(self):
        return f"split_size={self.split_size}, dim={self.dim}"


class Chunk(nn.Module):
    """torch.chunk: `chunks` nearly equal pieces along `dim`; returns a tuple."""

    def __init__(self, chunks, dim=1):
        super().__init__()
        self.chunks = chunks
        self.dim = dim

    def forward(self, x):
        return tuple(torch.chunk(x, self.chunks, dim=self.dim))

    def extra_repr(self):
        return f"chunks={self.chunks}, dim={self.dim}"


class Slice(nn.Module):
    """x[..., start:end:step, ...] along `dim` (end None: to the end)."""

    def __init__(self, dim, start=0, end=None, step=1):
        super().__init__()
        self.dim, self.start, self.end, self.step = dim, start, end, step

    def forward(self, x):
        index = [slice(None)] * x.dim()
        index[self.dim] = slice(self.start, self.end, self.step)
        return x[tuple(index)]

    def extra_repr(self):
        return f"dim={self.dim}, start={self.start}, end={self.end}, step={self.step}"


class Select(nn.Module):
    """x.select(dim, index): one position along `dim`, which disappears."""

    def __init__(self, dim, index):
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x):
        return x.select(self.dim, self.index)

    def extra_repr(self):
        return f"dim={self.dim}, index={self.index}"


class Repeat(nn.Module):
    """Tile each sample `repeats` times per dimension (the batch is not repeated)."""

    def __init__(self, repeats):
        super().__init__()
        self.repeats = tuple(repeats)

    def forward(self, x):
        return x.repeat(1, *self.repeats)

    def extra_repr(self):
        return f"repeats={self.repeats}"


class Expand(nn.Module):
    """Broadcast size-1 dimensions of each sample to `shape` (-1 keeps a size); no copy."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.expand(x.shape[0], *self.shape)

    def extra_repr(self):
        return f"shape={self.shape}"


class Stack(nn.Module):
    """torch.stack of all inputs along a new dimension `dim`."""

    def __init__(self, dim=1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs):
        return torch.stack(inputs, dim=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
