"""The module behind PairwiseDistance (see workbench/core/layers/similarity.py)."""

from __future__ import annotations

import torch
from torch import nn


class PairwiseDistance(nn.Module):
    """‖x1 − x2 + eps‖ₚ over the last dimension, exactly torch.pairwise_distance.

    Written with vector_norm because the TorchScript ONNX exporter's pairwise_distance
    gives NaN for every p other than 2.
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.p, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return torch.linalg.vector_norm(x1 - x2 + self.eps, ord=self.p, dim=-1, keepdim=self.keepdim)

    def extra_repr(self):
        return f"p={self.p}, eps={self.eps}, keepdim={self.keepdim}"
