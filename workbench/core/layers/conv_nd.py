"""The 1-D/3-D completions of the convolutions: Conv3d, ConvTranspose1d/3d, and the
DepthwiseSeparableConv2d block (a depthwise conv, groups = channels, then a 1×1 conv).

Shape and FLOPs formulas are those of conv.py, written for any number of spatial dims.
"""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.layers.conv import (
    MAX_CHANNELS,
    MAX_WINDOW,
    _conv_check,
    _conv_flops,
    _conv_infer,
    _conv_params,
    _require_groups,
    fmt_size,
    require_spatial,
    show,
    window_output,
)
from workbench.core.params import BOOL, INT, INTS, Param, ParamError, pair
from workbench.core.tensors import ShapeError, TensorInfo

_SIBLINGS = {1: "Conv1d", 2: "Conv2d", 3: "Conv3d"}


def _construct(name: str):
    def construct(inputs, p):
        return Constructor(f"torch.nn.{name}", {"in_channels": inputs[0].shape[0], **p}, f"nn.{name}")

    return construct


CONV3D = LayerSpec(
    name="Conv3d",
    category="conv",
    doc="3-D convolution over volumes or video: [N, C, D, H, W] → [N, out_channels, D', H', W'].",
    params=_conv_params(3),
    construct=_construct("Conv3d"),
    infer=_conv_infer("Conv3d", 3, {3: "Conv1d", 4: "Conv2d"}),
    flops=_conv_flops,
    check=_conv_check(3),
)


# --- transposed convolutions -------------------------------------------------------------


def _transpose_check(n: int):
    def check(p):
        if p["out_channels"] % p["groups"]:
            raise ParamError("out_channels", f"must be divisible by groups={p['groups']}, got {p['out_channels']}")
        for op, s, d in zip(pair(p["output_padding"], n), pair(p["stride"], n), pair(p["dilation"], n)):
            if op >= max(s, d):
                raise ParamError(
                    "output_padding",
                    f"must be smaller than stride or dilation (here below {max(s, d)}), got {show(p['output_padding'])}",
                )

    return check


def _transpose_infer(name: str, n: int):
    def infer(inputs, p):
        (x,) = inputs
        require_spatial(name, x, n, {r + 2: f"ConvTranspose{r}d" for r in (1, 2, 3) if r != n})
        _require_groups(name, x, p["groups"])
        size = x.shape[1:]
        out = tuple(
            (i - 1) * s - 2 * pad + d * (k - 1) + op + 1
            for i, k, s, pad, d, op in zip(
                size, pair(p["kernel_size"], n), pair(p["stride"], n), pair(p["padding"], n),
                pair(p["dilation"], n), pair(p["output_padding"], n),
            )
        )
        if min(out) < 1:
            raise ShapeError(
                f"{name} output would be {fmt_size(out)} for input {fmt_size(size)}: padding "
                f"{fmt_size(pair(p['padding'], n))} crops more than the layer produces; lower padding or raise kernel_size/stride"
            )
        return [TensorInfo((p["out_channels"], *out))]

    return infer


def _transpose_flops(inputs, outputs, p):
    x = inputs[0]
    n = len(x.shape) - 1
    return 2 * math.prod(x.shape) * (p["out_channels"] // p["groups"]) * math.prod(pair(p["kernel_size"], n))


def _transpose_params(n: int) -> tuple[Param, ...]:
    dims = "the length" if n == 1 else "depth, height and width"
    return (
        Param("out_channels", INT, 16, "Number of output channels", min=1, max=MAX_CHANNELS),
        Param("kernel_size", INTS, 3, f"Window size: one number, or one per dimension ({dims})", min=1, max=MAX_WINDOW, length=n),
        Param("stride", INTS, 1, "Upsampling factor: 2 roughly doubles the output size", min=1, max=MAX_WINDOW, length=n),
        Param("padding", INTS, 0, "Positions cropped from each side of the output", min=0, max=MAX_WINDOW, length=n),
        Param(
            "output_padding", INTS, 0,
            "Extra positions added on one side to reach an exact size (below stride or dilation)",
            min=0, max=MAX_WINDOW, length=n,
        ),
        Param("groups", INT, 1, "Split channels into groups convolved separately", min=1, max=MAX_CHANNELS),
        Param("bias", BOOL, True, "Learn an additive bias per output channel"),
        Param("dilation", INTS, 1, "Spacing between kernel taps", min=1, max=MAX_WINDOW, length=n),
    )


def _transpose(n: int, doc: str) -> LayerSpec:
    name = f"ConvTranspose{n}d"
    return LayerSpec(
        name=name,
        category="conv",
        doc=doc,
        params=_transpose_params(n),
        construct=_construct(name),
        infer=_transpose_infer(name, n),
        flops=_transpose_flops,
        check=_transpose_check(n),
    )


CONV_TRANSPOSE1D = _transpose(1, "Transposed 1-D convolution, to upsample sequences: kernel_size=2, stride=2 doubles L.")
CONV_TRANSPOSE3D = _transpose(3, "Transposed 3-D convolution, to upsample volumes: kernel_size=2, stride=2 doubles D, H and W.")


# --- depthwise-separable block ---------------------------------------------------------------


def _separable_infer(inputs, p):
    (x,) = inputs
    require_spatial("DepthwiseSeparableConv2d", x, 2, {3: "Conv1d", 5: "Conv3d"})
    pad = pair(p["padding"])
    out = window_output(
        "DepthwiseSeparableConv2d", x.shape[1:], pair(p["kernel_size"]), pair(p["stride"]), pad, pad, pair(p["dilation"])
    )
    return [TensorInfo((p["out_channels"], *out))]


def _separable_flops(inputs, outputs, p):
    c = inputs[0].shape[0]
    positions = math.prod(outputs[0].shape[1:])
    depthwise = 2 * c * positions * math.prod(pair(p["kernel_size"]))
    return depthwise + 2 * c * positions * p["out_channels"]


def _separable_construct(inputs, p):
    return Constructor(
        "workbench.core.modules.conv_nd.DepthwiseSeparableConv2d", {"in_channels": inputs[0].shape[0], **p}
    )


DEPTHWISE_SEPARABLE_CONV2D = LayerSpec(
    name="DepthwiseSeparableConv2d",
    category="conv",
    doc=(
        "A depthwise 3×3 conv (one filter per channel, groups = channels) then a 1×1 conv mixing channels "
        "(MobileNet, Xception): nearly a Conv2d's reach at a fraction of its weights and FLOPs."
    ),
    params=(
        Param("out_channels", INT, 32, "Channels after the 1×1 pointwise conv", min=1, max=MAX_CHANNELS),
        Param("kernel_size", INTS, 3, "Depthwise window: one number, or [height, width]", min=1, max=MAX_WINDOW, length=2),
        Param("stride", INTS, 1, "Depthwise step; 2 halves H and W", min=1, max=MAX_WINDOW, length=2),
        Param("padding", INTS, 1, "Depthwise zero padding on each side (kernel_size // 2 keeps the size)", min=0, max=MAX_WINDOW, length=2),
        Param("dilation", INTS, 1, "Spacing between depthwise taps", min=1, max=MAX_WINDOW, length=2),
        Param("bias", BOOL, True, "Learn biases in both convs (not needed before BatchNorm)"),
    ),
    construct=_separable_construct,
    infer=_separable_infer,
    flops=_separable_flops,
)

SPECS = (CONV3D, CONV_TRANSPOSE1D, CONV_TRANSPOSE3D, DEPTHWISE_SEPARABLE_CONV2D)
