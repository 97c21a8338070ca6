"""ONNX translations the TorchScript-based exporter lacks, written from standard ops.

`aten::rms_norm` (nn.RMSNorm, GPTBlock's rmsnorm) has no symbolic in that exporter, and
ONNX has no RMSNormalization before opset 23, so it is spelled out:
x / sqrt(mean(x², last dims) + eps) · weight. ReduceMean takes its axes as an attribute
up to opset 17 and as an input from 18 on, hence two registrations. The dynamo exporter
translates rms_norm itself.
"""

from __future__ import annotations

import torch
from torch.onnx import symbolic_helper

__all__ = ["register_symbolics"]

_registered = False


def _rms_norm(axes_as_input: bool):
    @symbolic_helper.parse_args("v", "is", "v", "v")
    def rms_norm(g, x, normalized_shape, weight, eps):
        value = None if symbolic_helper._is_none(eps) else symbolic_helper._maybe_get_const(eps, "f")
        if value is None:  # torch's default: the machine epsilon of the input's dtype
            value = torch.finfo(torch.float32).eps
        axes = list(range(-len(normalized_shape), 0))
        square = g.op("Mul", x, x)
        if axes_as_input:
            mean = g.op("ReduceMean", square, g.op("Constant", value_t=torch.tensor(axes)), keepdims_i=1)
        else:
            mean = g.op("ReduceMean", square, axes_i=axes, keepdims_i=1)
        rms = g.op("Sqrt", g.op("Add", mean, g.op("Constant", value_t=torch.tensor(float(value)))))
        y = g.op("Div", x, rms)
        return y if symbolic_helper._is_none(weight) else g.op("Mul", y, weight)

    return rms_norm


def register_symbolics() -> None:
    """Teach the TorchScript-based exporter the ops above (once per process)."""
    global _registered
    if _registered:
        return
    torch.onnx.register_custom_op_symbolic("aten::rms_norm", _rms_norm(axes_as_input=False), 9)
    torch.onnx.register_custom_op_symbolic("aten::rms_norm", _rms_norm(axes_as_input=True), 18)
    _registered = True
