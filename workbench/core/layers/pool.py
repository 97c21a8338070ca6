"""Pooling: max and average windows, adaptive pools and global average pooling."""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.conv import MAX_WINDOW, fmt_size, require_spatial, window_output
from workbench.core.params import BOOL, INT, INTS, Param, ParamError, pair
from workbench.core.tensors import ShapeError, TensorInfo, require_float


MAX_OUTPUT = 65_536


def _stride(p, n):
    return pair(p["kernel_size"] if p["stride"] is None else p["stride"], n)


def _pool_check(n: int):
    def check(p):
        kernel, padding = pair(p["kernel_size"], n), pair(p["padding"], n)
        if any(pad > k // 2 for pad, k in zip(padding, kernel)):
            limit = fmt_size(k // 2 for k in kernel)
            raise ParamError(
                "padding",
                f"must be at most half the kernel size (kernel {fmt_size(kernel)} allows {limit}), got {fmt_size(padding)}",
            )

    return check


def _pool_infer(name: str, n: int, others: dict[int, str]):
    def infer(inputs, p):
        (x,) = inputs
        require_spatial(name, x, n, others)
        padding = pair(p["padding"], n)
        dilation = pair(p.get("dilation", 1), n)
        out = window_output(
            name, x.shape[1:], pair(p["kernel_size"], n), _stride(p, n), padding, padding, dilation, p["ceil_mode"]
        )
        return [TensorInfo((x.shape[0], *out))]

    return infer


def _construct(name: str):
    return lambda inputs, p: Constructor(f"torch.nn.{name}", dict(p), f"nn.{name}")


def _window_params(n: int, dilation: bool) -> tuple[Param, ...]:
    dims = "the length" if n == 1 else "height and width"
    params = [
        Param("kernel_size", INTS, 2, f"Window size: one number, or one per dimension ({dims})", min=1, max=MAX_WINDOW, length=n),
        Param(
            "stride",
            INTS,
            None,
            "Step between windows; empty means kernel_size (non-overlapping windows)",
            min=1,
            max=MAX_WINDOW,
            length=n,
            optional=True,
        ),
        Param("padding", INTS, 0, "Values added on each side (at most half the kernel size)", min=0, max=MAX_WINDOW, length=n),
    ]
    if dilation:
        params.append(Param("dilation", INTS, 1, "Spacing between window taps", min=1, max=MAX_WINDOW, length=n))
    params.append(Param("ceil_mode", BOOL, False, "Round the output size up, so a partial window at the end still counts"))
    return tuple(params)


MAXPOOL1D = LayerSpec(
    name="MaxPool1d",
    category="pool",
    doc="Keeps the largest value in each window of a sequence: [N, C, L] → [N, C, L'].",
    params=_window_params(1, dilation=True),
    construct=_construct("MaxPool1d"),
    infer=_pool_infer("MaxPool1d", 1, {4: "MaxPool2d"}),
    flops=no_flops,
    check=_pool_check(1),
)

MAXPOOL2D = LayerSpec(
    name="MaxPool2d",
    category="pool",
    doc="Keeps the largest value in each window; the default 2×2 halves H and W.",
    params=_window_params(2, dilation=True),
    construct=_construct("MaxPool2d"),
    infer=_pool_infer("MaxPool2d", 2, {3: "MaxPool1d"}),
    flops=no_flops,
    check=_pool_check(2),
)

AVGPOOL2D = LayerSpec(
    name="AvgPool2d",
    category="pool",
    doc="Averages each window; the default 2×2 halves H and W.",
    params=(
        *_window_params(2, dilation=False),
        Param("count_include_pad", BOOL, True, "Count padded zeros in the average at the borders"),
        Param(
            "divisor_override",
            INT,
            None,
            "Divide every window sum by this instead of the window size (empty: the size)",
            min=1,
            max=MAX_OUTPUT,
            optional=True,
        ),
    ),
    construct=_construct("AvgPool2d"),
    infer=_pool_infer("AvgPool2d", 2, {}),
    flops=no_flops,
    check=_pool_check(2),
)


def _adaptive_infer(name: str, n: int, others: dict[int, str]):
    def infer(inputs, p):
        (x,) = inputs
        require_spatial(name, x, n, others)
        return [TensorInfo((x.shape[0], *pair(p["output_size"], n)))]

    return infer


ADAPTIVE_AVGPOOL1D = LayerSpec(
    name="AdaptiveAvgPool1d",
    category="pool",
    doc="Averages a sequence down to exactly output_size steps, whatever its length: [N, C, L] → [N, C, output_size].",
    params=(Param("output_size", INT, 1, "Output length", min=1, max=MAX_OUTPUT),),
    construct=_construct("AdaptiveAvgPool1d"),
    infer=_adaptive_infer("AdaptiveAvgPool1d", 1, {4: "AdaptiveAvgPool2d"}),
    flops=no_flops,
)

ADAPTIVE_AVGPOOL2D = LayerSpec(
    name="AdaptiveAvgPool2d",
    category="pool",
    doc="Averages an image down to exactly output_size, whatever its size: [N, C, H, W] → [N, C, h, w].",
    params=(Param("output_size", INTS, 1, "Output size: one number (square) or [height, width]", min=1, max=MAX_OUTPUT, length=2),),
    construct=_construct("AdaptiveAvgPool2d"),
    infer=_adaptive_infer("AdaptiveAvgPool2d", 2, {3: "AdaptiveAvgPool1d"}),
    flops=no_flops,
)


def _infer_global(inputs, p):
    (x,) = inputs
    require_float("GlobalAvgPool", x)
    if x.rank not in (3, 4):
        hint = "it is already pooled; remove it" if x.rank == 2 else "insert a Flatten with start_dim=2 before it"
        raise ShapeError(f"GlobalAvgPool expects [N, C, L] or [N, C, H, W] but gets {x}: {hint}")
    return [TensorInfo((x.shape[0],))]


GLOBAL_AVGPOOL = LayerSpec(
    name="GlobalAvgPool",
    category="pool",
    doc="Averages over all positions, one value per channel: [N, C, H, W] → [N, C] (a classifier head needs no Flatten).",
    construct=lambda inputs, p: Constructor("workbench.core.modules.pool.GlobalAvgPool", {}),
    infer=_infer_global,
    flops=no_flops,
)

SPECS = (MAXPOOL1D, MAXPOOL2D, AVGPOOL2D, ADAPTIVE_AVGPOOL1D, ADAPTIVE_AVGPOOL2D, GLOBAL_AVGPOOL)
