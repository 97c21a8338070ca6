"""More regularisation: channel dropout for sequences and volumes, AlphaDropout (for
SELU nets) and stochastic depth (drop a whole residual branch per sample). All are the
identity in eval mode."""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.regularisation import _p
from workbench.core.params import CHOICE, Param
from workbench.core.tensors import require_float, require_rank


def _channel_dropout(name: str, rank: int, doc: str) -> LayerSpec:
    others = {3: "Dropout1d", 4: "Dropout2d", 5: "Dropout3d"}
    others.pop(rank)

    def infer(inputs, p):
        (x,) = inputs
        require_float(name, x)
        require_rank(name, x, rank, hint=f"use {others[x.rank]}" if x.rank in others else "use Dropout")
        return [x]

    return LayerSpec(
        name=name,
        category="regularisation",
        doc=doc,
        params=(_p(0.5, "each whole channel"),),
        construct=lambda inputs, p: Constructor(f"torch.nn.{name}", dict(p), f"nn.{name}"),
        infer=infer,
        flops=no_flops,
    )


def _infer_any(name: str):
    def infer(inputs, p):
        require_float(name, inputs[0])
        return [inputs[0]]

    return infer


ALPHA_DROPOUT = LayerSpec(
    name="AlphaDropout",
    category="regularisation",
    doc="Dropout that keeps a SELU network's mean and variance (sets dropped values to SELU's negative saturation).",
    params=(_p(0.5, "each value"),),
    construct=lambda inputs, p: Constructor("torch.nn.AlphaDropout", dict(p), "nn.AlphaDropout"),
    infer=_infer_any("AlphaDropout"),
    flops=no_flops,
)

STOCHASTIC_DEPTH = LayerSpec(
    name="StochasticDepth",
    category="regularisation",
    doc=(
        "Zeroes a residual branch for a random p of the samples while training (torchvision.ops.StochasticDepth); "
        "put it at the end of a branch, before the Add."
    ),
    params=(
        _p(0.1, "the branch"),
        Param("mode", CHOICE, "row", "row: decide per sample; batch: one decision for the whole batch", choices=("row", "batch")),
    ),
    construct=lambda inputs, p: Constructor("torchvision.ops.StochasticDepth", dict(p), "torchvision.ops.StochasticDepth"),
    infer=_infer_any("StochasticDepth"),
    flops=no_flops,
)

SPECS = (
    _channel_dropout("Dropout1d", 3, "Randomly zeroes whole channels of [N, C, L] while training; suits Conv1d features."),
    _channel_dropout("Dropout3d", 5, "Randomly zeroes whole channels of [N, C, D, H, W] while training; suits Conv3d features."),
    ALPHA_DROPOUT,
    STOCHASTIC_DEPTH,
)
