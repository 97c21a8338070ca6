"""Resampling without weights: Upsample (F.interpolate: to a size or by a scale factor),
PixelShuffle and PixelUnshuffle (trade channels for resolution and back)."""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.conv import fmt_size
from workbench.core.params import BOOL, CHOICE, FLOAT, INT, INTS, Param, ParamError, pair
from workbench.core.tensors import ShapeError, TensorInfo, require_float, require_rank

MAX_SIZE = 65_536
MAX_FACTOR = 64
# mode -> the per-sample ranks (batch included) it works on
_MODE_RANKS = {
    "nearest": (3, 4, 5),
    "nearest-exact": (3, 4, 5),
    "linear": (3,),
    "bilinear": (4,),
    "bicubic": (4,),
    "trilinear": (5,),
}
_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


def _check_upsample(p):
    if p["size"] is None and p["scale_factor"] is None:
        raise ParamError("scale_factor", "give a scale_factor, or a size")
    if p["align_corners"] is not None and p["mode"] not in _INTERPOLATING:
        raise ParamError("align_corners", f"only applies to {', '.join(_INTERPOLATING)}; leave it empty for {p['mode']!r}")


def _infer_upsample(inputs, p):
    (x,) = inputs
    require_float("Upsample", x)
    ranks = _MODE_RANKS[p["mode"]]
    if x.rank not in ranks:
        fits = [m for m, r in _MODE_RANKS.items() if x.rank in r]
        hint = f"use mode {' or '.join(repr(m) for m in fits)}" if fits else "it resizes [N, C, L], [N, C, H, W] or [N, C, D, H, W]"
        raise ShapeError(f"Upsample mode={p['mode']!r} expects {' or '.join(f'rank {r}' for r in ranks)} but gets {x}: {hint}")
    n = x.rank - 2
    if p["size"] is not None:
        size = p["size"]
        if isinstance(size, tuple) and len(size) != n:
            raise ShapeError(f"Upsample size {fmt_size(size)} gives {len(size)} sizes but {x} has {n} spatial dimensions")
        out = pair(size, n)
    else:
        out = tuple(math.floor(float(s) * p["scale_factor"]) for s in x.shape[1:])
        if min(out) < 1:
            raise ShapeError(f"Upsample scale_factor={p['scale_factor']} shrinks {x} to nothing ({fmt_size(out)})")
    return [TensorInfo((x.shape[0], *out))]


def _construct_upsample(inputs, p):
    kwargs = dict(p)
    if kwargs["size"] is not None:  # size wins; torch refuses both
        kwargs["scale_factor"] = None
    return Constructor("torch.nn.Upsample", kwargs, "nn.Upsample")


UPSAMPLE = LayerSpec(
    name="Upsample",
    category="resample",
    doc=(
        "Resizes [N, C, L], [N, C, H, W] or [N, C, D, H, W] to `size` or by `scale_factor` (F.interpolate), "
        "by nearest neighbour or (bi/tri)linear or bicubic interpolation; no weights (U-Net decoders, FPNs)."
    ),
    params=(
        Param("size", INTS, None, "Output size: one number or one per spatial dimension (empty: use scale_factor)",
              min=1, max=MAX_SIZE, optional=True),
        Param("scale_factor", FLOAT, 2.0, "Multiplier of every spatial size, rounded down (used when size is empty)",
              min=1e-3, max=MAX_FACTOR, optional=True),
        Param("mode", CHOICE, "nearest", "How new values are computed", choices=tuple(_MODE_RANKS)),
        Param("align_corners", BOOL, None, "Interpolating modes only: align the corner pixels of input and output (empty: torch's default, no)",
              optional=True),
    ),
    construct=_construct_upsample,
    infer=_infer_upsample,
    flops=no_flops,  # interpolation is element-wise work, not a matrix product
    check=_check_upsample,
)


def _infer_shuffle(inputs, p):
    (x,) = inputs
    require_float("PixelShuffle", x)
    require_rank("PixelShuffle", x, 4)
    r = p["upscale_factor"]
    c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"PixelShuffle upscale_factor={r} needs channels divisible by {r * r}, but {x} has {c}")
    return [TensorInfo((c // (r * r), h * r, w * r))]


def _infer_unshuffle(inputs, p):
    (x,) = inputs
    require_float("PixelUnshuffle", x)
    require_rank("PixelUnshuffle", x, 4)
    r = p["downscale_factor"]
    c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"PixelUnshuffle downscale_factor={r} needs height and width divisible by {r}, but {x} is {h}×{w}")
    return [TensorInfo((c * r * r, h // r, w // r))]


PIXEL_SHUFFLE = LayerSpec(
    name="PixelShuffle",
    category="resample",
    doc="Rearranges [N, C·r², H, W] into [N, C, H·r, W·r]: sub-pixel upsampling after a conv (super-resolution).",
    params=(Param("upscale_factor", INT, 2, "r: how much H and W grow", min=1, max=MAX_FACTOR),),
    construct=lambda inputs, p: Constructor("torch.nn.PixelShuffle", dict(p), "nn.PixelShuffle"),
    infer=_infer_shuffle,
    flops=no_flops,
)

PIXEL_UNSHUFFLE = LayerSpec(
    name="PixelUnshuffle",
    category="resample",
    doc="The inverse of PixelShuffle: [N, C, H·r, W·r] → [N, C·r², H, W] (space to depth).",
    params=(Param("downscale_factor", INT, 2, "r: how much H and W shrink", min=1, max=MAX_FACTOR),),
    construct=lambda inputs, p: Constructor("torch.nn.PixelUnshuffle", dict(p), "nn.PixelUnshuffle"),
    infer=_infer_unshuffle,
    flops=no_flops,
)

SPECS = (UPSAMPLE, PIXEL_SHUFFLE, PIXEL_UNSHUFFLE)
