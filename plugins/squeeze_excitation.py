"""Squeeze-and-Excitation (Hu et al., 2018) as one node: channel attention for conv features.

Each channel's mean over H×W is squeezed through a small bottleneck (C → C/reduction → C)
and a sigmoid, and the input is rescaled per channel by the result: [N, C, H, W] in,
the same shape out. A plugin for Model Workbench: see docs/plugins.md.
"""

import torch
from torch import nn

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.params import INT, Param
from workbench.core.tensors import ShapeError, require_float


class SqueezeExcitation(nn.Module):
    """x * sigmoid(fc2(relu(fc1(mean_hw(x))))) with 1×1 convolutions as the two layers."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1)
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1)

    def forward(self, x):
        scale = x.mean(dim=(2, 3), keepdim=True)
        scale = torch.sigmoid(self.fc2(torch.relu(self.fc1(scale))))
        return x * scale


def _infer(inputs, p):
    (x,) = inputs
    require_float("SqueezeExcitation", x)
    if x.rank != 4:
        raise ShapeError(f"SqueezeExcitation expects [N, C, H, W] but gets {x}: put it after a Conv2d")
    return [x]


def _flops(inputs, outputs, p):
    channels = inputs[0].shape[0]
    hidden = max(1, channels // p["reduction"])
    return 2 * 2 * channels * hidden  # the two 1×1 convolutions on a 1×1 map


SQUEEZE_EXCITATION = LayerSpec(
    name="SqueezeExcitation",
    category="Plugins",
    doc="Channel attention: rescales each channel of [N, C, H, W] by a learned gate computed from all channels' means.",
    params=(Param("reduction", INT, 16, "Bottleneck ratio: the gate's hidden width is channels / reduction", min=1, max=1024),),
    construct=lambda inputs, p: Constructor(SqueezeExcitation, {"channels": inputs[0].shape[0], "reduction": p["reduction"]}),
    infer=_infer,
    flops=_flops,
)

EXAMPLES = {"SqueezeExcitation": [[32, 8, 8]]}


def register(catalog):
    catalog.register(SQUEEZE_EXCITATION)
