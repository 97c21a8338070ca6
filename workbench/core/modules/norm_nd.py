"""The module behind ChannelLayerNorm (see workbench/core/layers/norm_nd.py)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of [N, C, ...] at every position (ConvNeXt's LayerNorm2d);
    the same state dict as nn.LayerNorm(C)."""

    def forward(self, x):
        last = x.dim() - 1  # permute, not movedim: the TorchScript ONNX exporter has no movedim
        x = x.permute(0, *range(2, last + 1), 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, last, *range(1, last))
