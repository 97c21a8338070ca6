"""The 1-D/3-D completions of pooling: MaxPool3d, AvgPool1d/3d, AdaptiveAvgPool3d,
AdaptiveMaxPool1d/2d and the power-average LPPool1d/2d. Output sizes follow pool.py."""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.conv import require_spatial, window_output
from workbench.core.layers.pool import MAX_OUTPUT, _adaptive_infer, _pool_check, _pool_infer, _stride, _window_params
from workbench.core.params import BOOL, FLOAT, INT, INTS, Param, pair
from workbench.core.tensors import TensorInfo


def _construct(name: str):
    return lambda inputs, p: Constructor(f"torch.nn.{name}", dict(p), f"nn.{name}")


def _siblings(stem: str, n: int) -> dict[int, str]:
    return {r + 2: f"{stem}{r}d" for r in (1, 2, 3) if r != n}


def _count_include_pad() -> Param:
    return Param("count_include_pad", BOOL, True, "Count padded zeros in the average at the borders")


def _divisor_override() -> Param:
    return Param(
        "divisor_override", INT, None, "Divide every window sum by this instead of the window size (empty: the size)",
        min=1, max=MAX_OUTPUT, optional=True,
    )


MAXPOOL3D = LayerSpec(
    name="MaxPool3d",
    category="pool",
    doc="Keeps the largest value in each window of a volume: [N, C, D, H, W] → [N, C, D', H', W'].",
    params=_window_params(3, dilation=True),
    construct=_construct("MaxPool3d"),
    infer=_pool_infer("MaxPool3d", 3, _siblings("MaxPool", 3)),
    flops=no_flops,
    check=_pool_check(3),
)

AVGPOOL1D = LayerSpec(
    name="AvgPool1d",
    category="pool",
    doc="Averages each window of a sequence: [N, C, L] → [N, C, L'].",
    params=(*_window_params(1, dilation=False), _count_include_pad()),
    construct=_construct("AvgPool1d"),
    infer=_pool_infer("AvgPool1d", 1, _siblings("AvgPool", 1)),
    flops=no_flops,
    check=_pool_check(1),
)

AVGPOOL3D = LayerSpec(
    name="AvgPool3d",
    category="pool",
    doc="Averages each window of a volume: [N, C, D, H, W] → [N, C, D', H', W'].",
    params=(*_window_params(3, dilation=False), _count_include_pad(), _divisor_override()),
    construct=_construct("AvgPool3d"),
    infer=_pool_infer("AvgPool3d", 3, _siblings("AvgPool", 3)),
    flops=no_flops,
    check=_pool_check(3),
)


def _adaptive(name: str, n: int, doc: str) -> LayerSpec:
    if n == 1:
        size = Param("output_size", INT, 1, "Output length", min=1, max=MAX_OUTPUT)
    else:
        size = Param(
            "output_size", INTS, 1, "Output size: one number (the same for every dimension) or one per dimension",
            min=1, max=MAX_OUTPUT, length=n,
        )
    return LayerSpec(
        name=name,
        category="pool",
        doc=doc,
        params=(size,),
        construct=_construct(name),
        infer=_adaptive_infer(name, n, _siblings(name[:-2], n)),
        flops=no_flops,
    )


ADAPTIVE_AVGPOOL3D = _adaptive(
    "AdaptiveAvgPool3d", 3, "Averages a volume down to exactly output_size: [N, C, D, H, W] → [N, C, d, h, w]."
)
ADAPTIVE_MAXPOOL1D = _adaptive(
    "AdaptiveMaxPool1d", 1, "Keeps the largest value of each of output_size stretches: [N, C, L] → [N, C, output_size]."
)
ADAPTIVE_MAXPOOL2D = _adaptive(
    "AdaptiveMaxPool2d", 2, "Max-pools an image down to exactly output_size, whatever its size: [N, C, H, W] → [N, C, h, w]."
)


def _lp_infer(name: str, n: int):
    def infer(inputs, p):
        (x,) = inputs
        require_spatial(name, x, n, _siblings("LPPool", n))
        zeros, ones = (0,) * n, (1,) * n
        out = window_output(name, x.shape[1:], pair(p["kernel_size"], n), _stride(p, n), zeros, zeros, ones, p["ceil_mode"])
        return [TensorInfo((x.shape[0], *out))]

    return infer


def _lp_pool1d_construct(inputs, p):
    """torch's lp_pool1d multiplies by kernel_size, so a one-element list must be an int."""
    kwargs = {k: (v[0] if k in ("kernel_size", "stride") and isinstance(v, (list, tuple)) and len(v) == 1 else v)
              for k, v in p.items()}
    return Constructor("torch.nn.LPPool1d", kwargs, "nn.LPPool1d")


def _lp_pool(n: int) -> LayerSpec:
    name = f"LPPool{n}d"
    window = [q for q in _window_params(n, dilation=False) if q.name != "padding"]
    return LayerSpec(
        name=name,
        category="pool",
        doc=f"Power-average pooling: (Σ xᵖ)^(1/p) over each window ({'a sequence' if n == 1 else 'an image'}); "
        "p=1 is sum pooling, large p approaches max pooling.",
        params=(Param("norm_type", FLOAT, 2.0, "The power p", min=0.1, max=100.0), *window),
        construct=_construct(name) if n > 1 else _lp_pool1d_construct,
        infer=_lp_infer(name, n),
        flops=no_flops,
    )


SPECS = (
    MAXPOOL3D, AVGPOOL1D, AVGPOOL3D, ADAPTIVE_AVGPOOL3D, ADAPTIVE_MAXPOOL1D, ADAPTIVE_MAXPOOL2D, _lp_pool(1), _lp_pool(2),
)
