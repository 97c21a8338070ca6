"""Arithmetic layers: Mean, Sum and Max over dimensions, MatMul of two inputs, and Scale
(multiply by a constant, ViT/ConvNeXt layer-scale style when learnable).

FLOPs: only MatMul computes a matrix product (2·n·m·p per matrix, as FlopCounterMode
counts its bmm); reductions and scaling are element-wise work and count 0.
"""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import BOOL, FLOAT, INTS, Param
from workbench.core.tensors import FLOAT as FLOAT32
from workbench.core.tensors import ShapeError, TensorInfo, require_float, sample_dim


def _reduce(name: str, mode: str, doc: str) -> LayerSpec:
    def infer(inputs, p):
        (x,) = inputs
        if mode == "mean":
            require_float(name, x)
        dims = p["dim"] if isinstance(p["dim"], tuple) else (p["dim"],)
        axes = {sample_dim(d, x.rank) for d in dims}
        if len(axes) != len(dims):
            raise ShapeError(f"{name} dims {list(dims)} name the same dimension twice")
        if p["keepdim"]:
            shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
        else:
            shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        return [TensorInfo(shape, x.dtype)]

    def construct(inputs, p):
        dims = p["dim"] if isinstance(p["dim"], tuple) else (p["dim"],)
        return Constructor("workbench.core.modules.reduce.Reduce", {"mode": mode, "dims": list(dims), "keepdim": p["keepdim"]})

    return LayerSpec(
        name=name,
        category="math",
        doc=doc,
        params=(
            Param("dim", INTS, -1, "Dimension(s) to reduce (batch is 0; negatives count from the end)"),
            Param("keepdim", BOOL, False, "Keep each reduced dimension as size 1 (so the result broadcasts back)"),
        ),
        construct=construct,
        infer=infer,
        flops=no_flops,
    )


def _broadcast(a: tuple[int, ...], b: tuple[int, ...], what: str) -> tuple[int, ...]:
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"{what}: dimension {i + 1} differs ({x} vs {y}) and neither is 1")
        out.append(max(x, y) if 1 not in (x, y) else x * y)
    return tuple(out)


def _infer_matmul(inputs, p):
    a, b = inputs
    require_float("MatMul", a)
    require_float("MatMul", b)
    if a.rank < 3 or b.rank != a.rank:
        raise ShapeError(
            f"MatMul multiplies matrices per sample: a and b need the same rank, at least [N, n, m] and [N, m, p], got {a} and {b}: "
            "insert an Unsqueeze or Reshape"
        )
    (n, m), (m2, q) = a.shape[-2:], b.shape[-2:]
    if m != m2:
        raise ShapeError(f"MatMul a {a} @ b {b}: a's last size {m} must equal b's second-to-last {m2}; insert a Transpose")
    batch = _broadcast(a.shape[:-2], b.shape[:-2], f"MatMul cannot broadcast {a} with {b}")
    return [TensorInfo((*batch, n, q), FLOAT32)]


def _matmul_flops(inputs, outputs, p):
    a, y = inputs[0], outputs[0]
    return 2 * math.prod(y.shape) * a.shape[-1]


MATMUL = LayerSpec(
    name="MatMul",
    category="math",
    doc="a @ b per sample (batched matrix product): [N, …, n, m] @ [N, …, m, p] → [N, …, n, p] (attention scores, mixing).",
    construct=lambda inputs, p: Constructor("workbench.core.modules.reduce.MatMul", {}),
    infer=_infer_matmul,
    flops=_matmul_flops,
    inputs=2,
    input_names=("a", "b"),
)


def _infer_scale(inputs, p):
    require_float("Scale", inputs[0])
    return [inputs[0]]


SCALE = LayerSpec(
    name="Scale",
    category="math",
    doc="Multiplies by a constant (e.g. 1/√d before a softmax); learnable: a trained scalar starting at `value`.",
    params=(
        Param("value", FLOAT, 1.0, "The factor", min=-1e12, max=1e12),
        Param("learnable", BOOL, False, "Train the factor (one parameter)"),
    ),
    construct=lambda inputs, p: Constructor("workbench.core.modules.reduce.Scale", dict(p)),
    infer=_infer_scale,
    flops=no_flops,
)

SPECS = (
    _reduce("Mean", "mean", "Averages over `dim` (keepdim keeps it as size 1): dims [2, 3] of [N, C, H, W] give [N, C]."),
    _reduce("Sum", "sum", "Adds up over `dim` (keepdim keeps it as size 1)."),
    _reduce("Max", "max", "The largest value over `dim` (keepdim keeps it as size 1); values only, no indices."),
    MATMUL,
    SCALE,
)
