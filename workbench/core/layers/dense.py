"""Fully connected layers. A Linear may share its weight with an Embedding (see core/tying.py)."""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import BOOL, INT, STR, Param
from workbench.core.tensors import ShapeError, TensorInfo, require_float


def _infer_linear(inputs, p):
    (x,) = inputs
    require_float("Linear", x)
    if x.rank < 2:  # torch applies it to the last dimension of any rank (ConvNeXt: channels-last [N, H, W, C])
        raise ShapeError(f"Linear expects [N, …, F] but gets {x}")
    return [TensorInfo((*x.shape[:-1], p["out_features"]))]


def _linear_flops(inputs, outputs, p):
    x = inputs[0]
    return 2 * math.prod(x.shape) * p["out_features"]


def _construct_linear(inputs, p):
    return Constructor("torch.nn.Linear", {"in_features": inputs[0].shape[-1], "out_features": p["out_features"], "bias": p["bias"]}, "nn.Linear")


LINEAR = LayerSpec(
    name="Linear",
    category="dense",
    doc="Fully connected layer: y = xWᵀ + b over the last dimension.",
    params=(
        Param("out_features", INT, 64, "Number of output features", min=1, max=1_000_000,
              from_data=("vocab_size", "num_classes")),
        Param("bias", BOOL, True, "Learn an additive bias"),
        Param(
            "tie_weight",
            STR,
            None,
            "Id of an Embedding whose [vocab, d] table this layer uses as its weight (a language-model head); empty: its own",
            optional=True,
        ),
    ),
    construct=_construct_linear,
    infer=_infer_linear,
    flops=_linear_flops,
)

IDENTITY = LayerSpec(
    name="Identity",
    category="dense",
    doc="Passes its input through unchanged (a placeholder or a named tap point).",
    construct=lambda inputs, p: Constructor("torch.nn.Identity", {}, "nn.Identity"),
    infer=lambda inputs, p: [inputs[0]],
    flops=no_flops,
)

SPECS = (LINEAR, IDENTITY)
