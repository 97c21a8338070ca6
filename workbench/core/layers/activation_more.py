"""More element-wise activations (the mobile-net hard ones, SELU, PReLU, ...) and the
softmin / channel softmax. None computes a matrix product: FLOPs are 0, as
torch.utils.flop_counter counts them."""

from __future__ import annotations

from dataclasses import replace

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.activation import _activation
from workbench.core.params import BOOL, FLOAT, INT, Param, ParamError
from workbench.core.tensors import require_float, require_rank


def _check_hardtanh(p):
    if p["min_val"] >= p["max_val"]:
        raise ParamError("max_val", f"must be above min_val ({p['min_val']}), got {p['max_val']}")


HARDTANH = _activation(
    "Hardtanh",
    "Clamps to [min_val, max_val] (default -1..1), linear in between.",
    (
        Param("min_val", FLOAT, -1.0, "Lower bound", min=-1e6, max=1e6),
        Param("max_val", FLOAT, 1.0, "Upper bound", min=-1e6, max=1e6),
    ),
)
HARDTANH = replace(HARDTANH, check=_check_hardtanh)


def _infer_prelu(inputs, p):
    (x,) = inputs
    require_float("PReLU", x)
    return [x]


def _construct_prelu(inputs, p):
    channels = inputs[0].shape[0] if p["per_channel"] and inputs[0].shape else 1
    return Constructor("torch.nn.PReLU", {"num_parameters": channels, "init": p["init"]}, "nn.PReLU")


PRELU = LayerSpec(
    name="PReLU",
    category="activation",
    doc="ReLU whose slope for x < 0 is learned: one slope shared, or one per channel (dimension 1).",
    params=(
        Param("per_channel", BOOL, False, "Learn one slope per channel instead of one for all"),
        Param("init", FLOAT, 0.25, "Initial slope", min=-1e3, max=1e3),
    ),
    construct=_construct_prelu,
    infer=_infer_prelu,
    flops=no_flops,
)


def _infer_softmax2d(inputs, p):
    (x,) = inputs
    require_float("Softmax2d", x)
    require_rank("Softmax2d", x, 4, hint="use Softmax with dim=1")
    return [x]


SOFTMAX2D = LayerSpec(
    name="Softmax2d",
    category="activation",
    doc="Softmax over the channels at every position of [N, C, H, W] (per-pixel class probabilities).",
    construct=lambda inputs, p: Constructor("torch.nn.Softmax2d", {}, "nn.Softmax2d"),
    infer=_infer_softmax2d,
    flops=no_flops,
)

_DIM = Param("dim", INT, -1, "Dimension to normalise (batch is 0; negatives count from the end)")

SPECS = (
    _activation("ReLU6", "min(max(0, x), 6): ReLU capped at 6 (MobileNet)."),
    _activation("Hardswish", "x·ReLU6(x + 3)/6: a cheap Swish (MobileNetV3)."),
    _activation("Hardsigmoid", "ReLU6(x + 3)/6: a cheap sigmoid (MobileNetV3 squeeze-excitation)."),
    HARDTANH,
    PRELU,
    _activation("SELU", "Scaled ELU: self-normalising networks (pair with AlphaDropout)."),
    _activation("CELU", "Continuously differentiable ELU.", (Param("alpha", FLOAT, 1.0, "Saturation value for x < 0", min=1e-6, max=1e3),)),
    _activation(
        "Softplus",
        "log(1 + exp(β·x))/β: a smooth ReLU.",
        (
            Param("beta", FLOAT, 1.0, "Sharpness β", min=1e-6, max=1e3),
            Param("threshold", FLOAT, 20.0, "Above β·x > threshold the layer is linear (numerical stability)", min=0.0, max=1e3),
        ),
    ),
    _activation("Softsign", "x / (1 + |x|), output in (-1, 1)."),
    _activation("Tanhshrink", "x - tanh(x)."),
    _activation(
        "Threshold",
        "x where x > threshold, else value.",
        (
            Param("threshold", FLOAT, 0.0, "Values at or below it are replaced", min=-1e6, max=1e6),
            Param("value", FLOAT, 0.0, "What replaces them", min=-1e6, max=1e6),
        ),
    ),
    _activation("Hardshrink", "x where |x| > λ, else 0.", (Param("lambd", FLOAT, 0.5, "λ", min=0.0, max=1e3),)),
    _activation("Softshrink", "x - λ·sign(x) where |x| > λ, else 0.", (Param("lambd", FLOAT, 0.5, "λ", min=0.0, max=1e3),)),
    _activation("LogSigmoid", "log(sigmoid(x)), numerically stable."),
    _activation("Softmin", "softmax(-x) along `dim`: probabilities that favour small values.", (_DIM,)),
    SOFTMAX2D,
)
