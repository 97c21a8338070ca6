"""Input and Output: where tensors enter and leave the model. Neither builds a module."""

from __future__ import annotations

from workbench.core.catalog import LayerSpec, no_flops
from workbench.core.params import CHOICE, SHAPE, Param
from workbench.core.tensors import DTYPES, FLOAT, TensorInfo


def _infer_input(inputs, p):
    return [TensorInfo(tuple(p["shape"]), p["dtype"])]


def _infer_output(inputs, p):
    return []


INPUT = LayerSpec(
    name="Input",
    category="io",
    doc="Model input: the per-sample shape (batch implicit) and dtype — [C, H, W] image, [F] vector, [T] token ids.",
    params=(
        Param("shape", SHAPE, [1, 28, 28], "Per-sample shape without the batch dimension", min=1),
        Param("dtype", CHOICE, FLOAT, "float32 for images, audio, features; int64 for token ids", choices=DTYPES),
    ),
    infer=_infer_input,
    flops=no_flops,
    inputs=0,
)

OUTPUT = LayerSpec(
    name="Output",
    category="io",
    doc="Marks a tensor the model returns; a graph may have several.",
    infer=_infer_output,
    flops=no_flops,
    outputs=0,
)

SPECS = (INPUT, OUTPUT)
