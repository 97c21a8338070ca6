"""Convolutions: Conv1d, Conv2d and ConvTranspose2d.

The window helpers here (`require_spatial`, `window_output`, `fmt_size`) are shared with
the pooling layers, whose output sizes follow the same formulas.
"""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.params import BOOL, CHOICE, INT, INTS, PADDING, Param, ParamError, pair
from workbench.core.tensors import ShapeError, TensorInfo, batch_dim_label, require_float

MAX_CHANNELS = 65_536
MAX_WINDOW = 1_024  # kernel, stride, padding, dilation


def fmt_size(values) -> str:
    """(5, 5) -> "5×5", (7,) -> "7"."""
    return "×".join(str(v) for v in values)


def show(value) -> str:
    """A kernel-style parameter as the user wrote it: 2 -> "2", (2, 1) -> "2×1"."""
    return fmt_size(value) if isinstance(value, tuple) else str(value)


def _reshape_example(x: TensorInfo, n: int) -> str:
    """A Reshape target that gives x one channel and n spatial dims."""
    s = x.shape
    if n == 2 and len(s) == 1:
        side = math.isqrt(s[0])
        if side * side == s[0]:
            return f"[1, {side}, {side}]"
    target = [1] * (n + 1 - len(s)) + list(s)
    return "[" + ", ".join(str(v) for v in target) + "]"


def require_spatial(layer: str, x: TensorInfo, n: int, others: dict[int, str] | None = None) -> None:
    """x must be float [N, C, *n spatial dims]; otherwise say how to get there.

    `others` maps a rank to the sibling layer that takes it ({3: "Conv1d"}).
    """
    require_float(layer, x)
    want = n + 2
    if x.rank == want:
        return
    hints = []
    if others and x.rank in others:
        hints.append(f"use {others[x.rank]}")
    if x.rank < want:
        hints.append(f"insert a Reshape before it (e.g. shape {_reshape_example(x, n)})")
    else:
        hints.append(f"insert a Flatten with start_dim=2, end_dim={x.rank - n} before it")
    hint = ", or ".join(hints)
    raise ShapeError(f"{layer} expects {batch_dim_label(want)} but gets {x}: {hint}")


def window_output(
    layer: str,
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    pad_l: tuple[int, ...],
    pad_r: tuple[int, ...],
    dilation: tuple[int, ...],
    ceil_mode: bool = False,
) -> tuple[int, ...]:
    """Output sizes of a sliding window, exactly as torch computes them (convolution and
    pooling alike); ShapeError when the window does not fit."""
    out = []
    for n, k, s, pl, pr, d in zip(size, kernel, stride, pad_l, pad_r, dilation):
        span = n + pl + pr - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + pl:
            o -= 1  # the last window must start inside the input or the left padding
        out.append(o)
    if min(out) < 1:
        padded = tuple(n + pl + pr for n, pl, pr in zip(size, pad_l, pad_r))
        if any(d != 1 for d in dilation):
            spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
            what = f"kernel {fmt_size(kernel)} with dilation {fmt_size(dilation)} spans {fmt_size(spans)}, which"
        else:
            what = f"kernel {fmt_size(kernel)}"
        raise ShapeError(
            f"{layer} {what} is larger than the padded input {fmt_size(padded)}: "
            "use a smaller kernel_size or dilation, more padding, or downsample less before it"
        )
    return tuple(out)


# --- Conv1d / Conv2d ---------------------------------------------------------------


def _conv_padding(p, n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(left, right) padding per spatial dim, as torch applies it."""
    padding = p["padding"]
    if padding == "valid":
        zeros = (0,) * n
        return zeros, zeros
    if padding == "same":
        k, d = pair(p["kernel_size"], n), pair(p["dilation"], n)
        total = [di * (ki - 1) for ki, di in zip(k, d)]
        left = tuple(t // 2 for t in total)
        return left, tuple(t - lt for t, lt in zip(total, left))
    pad = pair(padding, n)
    return pad, pad


def _conv_check(n: int):
    def check(p):
        if p["out_channels"] % p["groups"]:
            raise ParamError("out_channels", f"must be divisible by groups={p['groups']}, got {p['out_channels']}")
        if p["padding"] == "same" and any(s != 1 for s in pair(p["stride"], n)):
            raise ParamError(
                "padding",
                f"'same' needs stride 1 (torch refuses it for strided convolutions), got stride {show(p['stride'])}; "
                "give an explicit padding such as kernel_size // 2",
            )

    return check


def _require_groups(layer: str, x: TensorInfo, groups: int) -> None:
    channels = x.shape[0]
    if channels % groups:
        raise ShapeError(
            f"{layer} groups={groups} needs input channels divisible by {groups}, but {x} has {channels} channels"
        )


def _conv_infer(name: str, n: int, others: dict[int, str]):
    def infer(inputs, p):
        (x,) = inputs
        require_spatial(name, x, n, others)
        _require_groups(name, x, p["groups"])
        size = x.shape[1:]
        pad_l, pad_r = _conv_padding(p, n)
        mode = p["padding_mode"]
        if mode in ("reflect", "circular"):
            for s, pl, pr in zip(size, pad_l, pad_r):
                pad = max(pl, pr)
                if mode == "reflect" and pad >= s:
                    raise ShapeError(
                        f"{name} padding_mode='reflect' needs padding smaller than the input, but pads {pad} "
                        f"on a size-{s} dimension of {x}: lower padding or use padding_mode='zeros'"
                    )
                if mode == "circular" and pad > s:
                    raise ShapeError(
                        f"{name} padding_mode='circular' can pad at most the input size, but pads {pad} "
                        f"on a size-{s} dimension of {x}: lower padding or use padding_mode='zeros'"
                    )
        out = window_output(
            name, size, pair(p["kernel_size"], n), pair(p["stride"], n), pad_l, pad_r, pair(p["dilation"], n)
        )
        return [TensorInfo((p["out_channels"], *out))]

    return infer


def _conv_flops(inputs, outputs, p):
    x, y = inputs[0], outputs[0]
    n = len(x.shape) - 1
    return 2 * math.prod(y.shape) * (x.shape[0] // p["groups"]) * math.prod(pair(p["kernel_size"], n))


def _conv_construct(name: str):
    def construct(inputs, p):
        return Constructor(f"torch.nn.{name}", {"in_channels": inputs[0].shape[0], **p}, f"nn.{name}")

    return construct


def _conv_params(n: int) -> tuple[Param, ...]:
    dims = "the length" if n == 1 else "height and width"
    return (
        Param("out_channels", INT, 16, "Number of filters (output channels)", min=1, max=MAX_CHANNELS),
        Param("kernel_size", INTS, 3, f"Window size: one number, or one per dimension ({dims})", min=1, max=MAX_WINDOW, length=n),
        Param("stride", INTS, 1, "Step between windows; 2 halves the output size", min=1, max=MAX_WINDOW, length=n),
        Param(
            "padding",
            PADDING,
            0,
            "Values added on each side: a number, one per dimension, 'same' (keep the size; stride 1 only) or 'valid' (none)",
            min=0,
            max=MAX_WINDOW,
            choices=("same", "valid"),
            length=n,
        ),
        Param(
            "dilation",
            INTS,
            1,
            "Spacing between kernel taps (> 1 widens the view without more weights)",
            min=1,
            max=MAX_WINDOW,
            length=n,
        ),
        Param("groups", INT, 1, "Split channels into groups convolved separately (= input channels: depthwise)", min=1, max=MAX_CHANNELS),
        Param("bias", BOOL, True, "Learn an additive bias per output channel (not needed before BatchNorm)"),
        Param(
            "padding_mode",
            CHOICE,
            "zeros",
            "What the padding holds: zeros, a mirror of the border, the border repeated, or a wrap-around",
            choices=("zeros", "reflect", "replicate", "circular"),
        ),
    )


CONV1D = LayerSpec(
    name="Conv1d",
    category="conv",
    doc="1-D convolution over sequences or signals: [N, C, L] → [N, out_channels, L'].",
    params=_conv_params(1),
    construct=_conv_construct("Conv1d"),
    infer=_conv_infer("Conv1d", 1, {4: "Conv2d"}),
    flops=_conv_flops,
    check=_conv_check(1),
)

CONV2D = LayerSpec(
    name="Conv2d",
    category="conv",
    doc="2-D convolution over images: [N, C, H, W] → [N, out_channels, H', W'].",
    params=_conv_params(2),
    construct=_conv_construct("Conv2d"),
    infer=_conv_infer("Conv2d", 2, {3: "Conv1d"}),
    flops=_conv_flops,
    check=_conv_check(2),
)


# --- ConvTranspose2d ---------------------------------------------------------------


def _check_conv_transpose(p):
    if p["out_channels"] % p["groups"]:
        raise ParamError("out_channels", f"must be divisible by groups={p['groups']}, got {p['out_channels']}")
    for op, s, d in zip(pair(p["output_padding"]), pair(p["stride"]), pair(p["dilation"])):
        if op >= max(s, d):
            raise ParamError(
                "output_padding",
                f"must be smaller than stride or dilation (here below {max(s, d)}), got {show(p['output_padding'])}",
            )


def _infer_conv_transpose(inputs, p):
    (x,) = inputs
    name = "ConvTranspose2d"
    require_spatial(name, x, 2)
    _require_groups(name, x, p["groups"])
    size = x.shape[1:]
    out = tuple(
        (n - 1) * s - 2 * pad + d * (k - 1) + op + 1
        for n, k, s, pad, d, op in zip(
            size,
            pair(p["kernel_size"]),
            pair(p["stride"]),
            pair(p["padding"]),
            pair(p["dilation"]),
            pair(p["output_padding"]),
        )
    )
    if min(out) < 1:
        raise ShapeError(
            f"{name} output would be {fmt_size(out)} for input {fmt_size(size)}: "
            f"padding {fmt_size(pair(p['padding']))} crops more than the layer produces; lower padding or raise kernel_size/stride"
        )
    return [TensorInfo((p["out_channels"], *out))]


def _conv_transpose_flops(inputs, outputs, p):
    x = inputs[0]
    return 2 * math.prod(x.shape) * (p["out_channels"] // p["groups"]) * math.prod(pair(p["kernel_size"]))


CONV_TRANSPOSE2D = LayerSpec(
    name="ConvTranspose2d",
    category="conv",
    doc="Transposed 2-D convolution, to upsample: kernel_size=2, stride=2 doubles H and W.",
    params=(
        Param("out_channels", INT, 16, "Number of output channels", min=1, max=MAX_CHANNELS),
        Param("kernel_size", INTS, 3, "Window size: one number, or [height, width]", min=1, max=MAX_WINDOW, length=2),
        Param("stride", INTS, 1, "Upsampling factor: 2 roughly doubles the output size", min=1, max=MAX_WINDOW, length=2),
        Param(
            "padding",
            INTS,
            0,
            "Rows/columns cropped from each side of the output",
            min=0,
            max=MAX_WINDOW,
            length=2,
        ),
        Param(
            "output_padding",
            INTS,
            0,
            "Extra rows/columns added on one side to reach an exact size (below stride or dilation)",
            min=0,
            max=MAX_WINDOW,
            length=2,
        ),
        Param("groups", INT, 1, "Split channels into groups convolved separately", min=1, max=MAX_CHANNELS),
        Param("bias", BOOL, True, "Learn an additive bias per output channel"),
        Param("dilation", INTS, 1, "Spacing between kernel taps", min=1, max=MAX_WINDOW, length=2),
    ),
    construct=_conv_construct("ConvTranspose2d"),
    infer=_infer_conv_transpose,
    flops=_conv_transpose_flops,
    check=_check_conv_transpose,
)

SPECS = (CONV1D, CONV2D, CONV_TRANSPOSE2D)
