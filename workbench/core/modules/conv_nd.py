"""The module behind DepthwiseSeparableConv2d (see workbench/core/layers/conv_nd.py)."""

from __future__ import annotations

from torch import nn


class DepthwiseSeparableConv2d(nn.Module):
    """A depthwise conv (groups = channels, one filter per channel) then a 1×1 pointwise
    conv that mixes channels: MobileNet's block, ~k² times cheaper than a full conv."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=1, dilation=1, bias=True):
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels, in_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=in_channels, bias=bias,
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
