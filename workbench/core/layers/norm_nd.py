"""More normalisation: BatchNorm3d, InstanceNorm1d/2d/3d, LocalResponseNorm and
ChannelLayerNorm (LayerNorm over the channels of [N, C, H, W], as ConvNeXt uses it)."""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.norm import _batchnorm, _eps
from workbench.core.params import BOOL, FLOAT, INT, Param
from workbench.core.tensors import ShapeError, require_float, require_rank

BATCHNORM3D = _batchnorm(
    "BatchNorm3d",
    "Normalises each channel of a volume [N, C, D, H, W] over the batch and positions; put it after Conv3d.",
    (5,),
    {2: "use BatchNorm1d", 3: "use BatchNorm1d", 4: "use BatchNorm2d"},
)


def _instancenorm(n: int) -> LayerSpec:
    name = f"InstanceNorm{n}d"
    rank = n + 2
    others = {r + 2: f"InstanceNorm{r}d" for r in (1, 2, 3) if r != n}

    def infer(inputs, p):
        (x,) = inputs
        require_float(name, x)
        require_rank(name, x, rank, hint=f"use {others[x.rank]}" if x.rank in others else "")
        if math.prod(x.shape[1:]) < 2:
            raise ShapeError(
                f"{name} normalises each channel over its positions, but {x} has only one position per channel: "
                "it would always output zeros; use BatchNorm or LayerNorm, or normalise earlier"
            )
        return [x]

    return LayerSpec(
        name=name,
        category="norm",
        doc=f"Normalises each channel of each sample over its positions ({'[N, C, L]' if n == 1 else '[N, C, H, W]' if n == 2 else '[N, C, D, H, W]'}); "
        "style transfer and image generation.",
        params=(
            _eps(),
            Param("momentum", FLOAT, 0.1, "Weight of each new batch in the running statistics", min=0.0, max=1.0, optional=True),
            Param("affine", BOOL, False, "Learn a per-channel scale and shift"),
            Param("track_running_stats", BOOL, False, "Keep running statistics for evaluation (off: each sample's own)"),
        ),
        construct=lambda inputs, p: Constructor(f"torch.nn.{name}", {"num_features": inputs[0].shape[0], **p}, f"nn.{name}"),
        infer=infer,
        flops=no_flops,
    )


def _infer_lrn(inputs, p):
    (x,) = inputs
    require_float("LocalResponseNorm", x)
    if x.rank < 3:
        raise ShapeError(f"LocalResponseNorm expects [N, C, ...] with positions but gets {x}: use it after a convolution")
    return [x]


LOCAL_RESPONSE_NORM = LayerSpec(
    name="LocalResponseNorm",
    category="norm",
    doc="Divides each value by the activity of `size` neighbouring channels (AlexNet's normalisation).",
    params=(
        Param("size", INT, 5, "Neighbouring channels to normalise over", min=1, max=4096),
        Param("alpha", FLOAT, 1e-4, "Multiplicative factor", min=0.0, max=100.0),
        Param("beta", FLOAT, 0.75, "Exponent", min=0.0, max=100.0),
        Param("k", FLOAT, 1.0, "Additive constant", min=0.0, max=100.0),
    ),
    construct=lambda inputs, p: Constructor("torch.nn.LocalResponseNorm", dict(p), "nn.LocalResponseNorm"),
    infer=_infer_lrn,
    flops=no_flops,
)


def _infer_channel_layernorm(inputs, p):
    (x,) = inputs
    require_float("ChannelLayerNorm", x)
    if x.rank < 3:
        raise ShapeError(f"ChannelLayerNorm expects [N, C, H, W] (or [N, C, L]) but gets {x}: use LayerNorm for [N, F]")
    return [x]


def _construct_channel_layernorm(inputs, p):
    kwargs = {"normalized_shape": inputs[0].shape[0], **p}
    return Constructor("workbench.core.modules.norm_nd.ChannelLayerNorm", kwargs)


CHANNEL_LAYERNORM = LayerSpec(
    name="ChannelLayerNorm",
    category="norm",
    doc="LayerNorm over the channels at every position of [N, C, H, W] (ConvNeXt's LayerNorm2d), batch-independent.",
    params=(
        Param("eps", FLOAT, 1e-6, "Added to the variance to avoid dividing by zero", min=1e-12, max=1.0),
        Param("elementwise_affine", BOOL, True, "Learn a scale (and shift) per channel"),
        Param("bias", BOOL, True, "Learn the shift too (only with elementwise_affine)"),
    ),
    construct=_construct_channel_layernorm,
    infer=_infer_channel_layernorm,
    flops=no_flops,
)

SPECS = (BATCHNORM3D, *(_instancenorm(n) for n in (1, 2, 3)), LOCAL_RESPONSE_NORM, CHANNEL_LAYERNORM)
