"""Normalisation: BatchNorm1d/2d, LayerNorm, GroupNorm and RMSNorm.

The number of channels or the normalised shape is inferred from the input.
"""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import BOOL, FLOAT, INT, Param
from workbench.core.tensors import ShapeError, require_float, require_rank

MAX_GROUPS = 65_536


def _eps() -> Param:
    return Param("eps", FLOAT, 1e-5, "Added to the variance to avoid dividing by zero", min=1e-12, max=1.0)


def _batchnorm_params() -> tuple[Param, ...]:
    return (
        _eps(),
        Param(
            "momentum",
            FLOAT,
            0.1,
            "Weight of each new batch in the running statistics (empty: a cumulative average)",
            min=0.0,
            max=1.0,
            optional=True,
        ),
        Param("affine", BOOL, True, "Learn a per-channel scale and shift"),
        Param(
            "track_running_stats",
            BOOL,
            True,
            "Keep running mean/variance for evaluation (off: always use the batch's own statistics)",
        ),
    )


def _batchnorm(name: str, doc: str, ranks: tuple[int, ...], hints: dict[int, str]) -> LayerSpec:
    def infer(inputs, p):
        (x,) = inputs
        require_float(name, x)
        hint = hints.get(x.rank, "insert a Flatten with start_dim=2 before it" if x.rank > max(ranks) else "")
        require_rank(name, x, *ranks, hint=hint)
        return [x]

    return LayerSpec(
        name=name,
        category="norm",
        doc=doc,
        params=_batchnorm_params(),
        construct=lambda inputs, p: Constructor(f"torch.nn.{name}", {"num_features": inputs[0].shape[0], **p}, f"nn.{name}"),
        infer=infer,
        flops=no_flops,
    )


BATCHNORM1D = _batchnorm(
    "BatchNorm1d",
    "Normalises each feature/channel over the batch: for [N, F] (after Linear) or [N, C, L] (after Conv1d).",
    (2, 3),
    {4: "use BatchNorm2d"},
)

BATCHNORM2D = _batchnorm(
    "BatchNorm2d",
    "Normalises each channel of [N, C, H, W] over the batch and positions; put it after Conv2d.",
    (4,),
    {2: "use BatchNorm1d", 3: "use BatchNorm1d"},
)


def _infer_layernorm(inputs, p):
    (x,) = inputs
    require_float("LayerNorm", x)
    k = p["normalized_dims"]
    if k > len(x.shape):
        have = len(x.shape)
        raise ShapeError(
            f"LayerNorm normalized_dims={k} but {x} has only {have} dimension{'s' if have != 1 else ''} "
            f"after the batch: set normalized_dims to at most {have}"
        )
    return [x]


def _construct_layernorm(inputs, p):
    kwargs = {
        "normalized_shape": tuple(inputs[0].shape[-p["normalized_dims"]:]),
        "eps": p["eps"],
        "elementwise_affine": p["elementwise_affine"],
        "bias": p["bias"],
    }
    return Constructor("torch.nn.LayerNorm", kwargs, "nn.LayerNorm")


LAYERNORM = LayerSpec(
    name="LayerNorm",
    category="norm",
    doc="Normalises each sample over its last dimension(s), independent of the batch (Transformers, RNNs).",
    params=(
        Param(
            "normalized_dims",
            INT,
            1,
            "How many trailing dimensions to normalise over (1: the last, e.g. features; 3: all of [C, H, W])",
            min=1,
            max=8,
        ),
        _eps(),
        Param("elementwise_affine", BOOL, True, "Learn a scale (and shift) per normalised element"),
        Param("bias", BOOL, True, "Learn the shift too (only with elementwise_affine)"),
    ),
    construct=_construct_layernorm,
    infer=_infer_layernorm,
    flops=no_flops,
)


def _infer_groupnorm(inputs, p):
    (x,) = inputs
    require_float("GroupNorm", x)
    if x.rank < 2:
        raise ShapeError(f"GroupNorm expects [N, C, ...] but gets {x}: insert a Reshape to give it a channel dimension")
    channels, groups = x.shape[0], p["num_groups"]
    if channels % groups:
        options = [g for g in range(1, min(channels, 64) + 1) if channels % g == 0]
        raise ShapeError(
            f"GroupNorm needs the channels divisible by num_groups, but {channels} channels ({x}) do not split "
            f"into {groups} groups: choose num_groups from {', '.join(map(str, options))}"
        )
    return [x]


def _construct_groupnorm(inputs, p):
    kwargs = {"num_groups": p["num_groups"], "num_channels": inputs[0].shape[0], "eps": p["eps"], "affine": p["affine"]}
    return Constructor("torch.nn.GroupNorm", kwargs, "nn.GroupNorm")


GROUPNORM = LayerSpec(
    name="GroupNorm",
    category="norm",
    doc="Normalises groups of channels per sample; works with any batch size (small-batch vision).",
    params=(
        Param(
            "num_groups",
            INT,
            8,
            "Number of channel groups (must divide the channels; 1 = LayerNorm over C, H, W)",
            min=1,
            max=MAX_GROUPS,
        ),
        _eps(),
        Param("affine", BOOL, True, "Learn a per-channel scale and shift"),
    ),
    construct=_construct_groupnorm,
    infer=_infer_groupnorm,
    flops=no_flops,
)

def _infer_rmsnorm(inputs, p):
    (x,) = inputs
    require_float("RMSNorm", x)
    if x.rank < 2:
        raise ShapeError(f"RMSNorm expects [N, ..., F] but gets {x}")
    return [x]


def _construct_rmsnorm(inputs, p):
    kwargs = {"normalized_shape": inputs[0].shape[-1], "eps": p["eps"], "elementwise_affine": p["elementwise_affine"]}
    return Constructor("torch.nn.RMSNorm", kwargs, "nn.RMSNorm")


RMSNORM = LayerSpec(
    name="RMSNorm",
    category="norm",
    doc="Scales each sample's last dimension to unit root-mean-square (no centring, no shift), as in LLaMA.",
    params=(
        Param("eps", FLOAT, 1e-6, "Added to the mean square to avoid dividing by zero", min=1e-12, max=1.0),
        Param("elementwise_affine", BOOL, True, "Learn a scale per feature"),
    ),
    construct=_construct_rmsnorm,
    infer=_infer_rmsnorm,
    flops=no_flops,
)

SPECS = (BATCHNORM1D, BATCHNORM2D, LAYERNORM, GROUPNORM, RMSNORM)
