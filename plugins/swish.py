"""Parametric Swish, x · sigmoid(β·x), with a learnable β (Ramachandran et al., 2017).

β = 1 is SiLU; as β grows it approaches ReLU, as it shrinks, a scaled identity. Here β
is learned (one per channel, or one for the whole layer). A plugin for Model Workbench:
see docs/plugins.md. It has no shape formula: shapes come from running it on meta tensors.
"""

import torch
from torch import nn

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.params import BOOL, FLOAT, Param


class ParametricSwish(nn.Module):
    """x * sigmoid(beta * x); beta has one entry per channel (dim 1) or a single one."""

    def __init__(self, channels=1, beta=1.0, per_channel=False, learnable=True):
        super().__init__()
        self.per_channel = per_channel
        self.beta = nn.Parameter(torch.full((channels if per_channel else 1,), float(beta)), requires_grad=learnable)

    def forward(self, x):
        beta = self.beta
        if self.per_channel:
            beta = beta.reshape([1, -1] + [1] * (x.dim() - 2))
        return x * torch.sigmoid(beta * x)

    def extra_repr(self):
        return f"channels={self.beta.numel()}, per_channel={self.per_channel}"


def _construct(inputs, p):
    channels = inputs[0].shape[0] if p["per_channel"] else 1
    kwargs = {"channels": channels, "beta": p["beta"], "per_channel": p["per_channel"], "learnable": p["learnable"]}
    return Constructor(ParametricSwish, kwargs)


SWISH = LayerSpec(
    name="Swish",
    category="Plugins",
    doc="x·sigmoid(β·x) with a learnable β: between a linear unit (β→0) and ReLU (β→∞); β=1 is SiLU.",
    params=(
        Param("beta", FLOAT, 1.0, "Initial β (1 = SiLU)", min=0.0, max=100.0),
        Param("per_channel", BOOL, False, "Learn one β per channel (dimension 1) instead of one for the layer"),
        Param("learnable", BOOL, True, "Train β; off keeps it fixed at its initial value"),
    ),
    construct=_construct,
    flops=lambda inputs, outputs, p: 0,
)

EXAMPLES = {"Swish": [[16, 8, 8]]}


def register(catalog):
    catalog.register(SWISH)
