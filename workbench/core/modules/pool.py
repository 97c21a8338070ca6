"""The module behind GlobalAvgPool (see workbench/core/layers/pool.py)."""

from __future__ import annotations

from torch import nn


class GlobalAvgPool(nn.Module):
    """Mean over every spatial dimension: [N, C, ...] -> [N, C]."""

    def forward(self, x):
        return x.flatten(2).mean(dim=2)
