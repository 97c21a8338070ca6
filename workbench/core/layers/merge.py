"""Layers that join several tensors: Add, Multiply (broadcasting) and Concat."""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import INT, Param
from workbench.core.tensors import ShapeError, TensorInfo, sample_dim


def _same_dtype(name, inputs):
    dtypes = {x.dtype for x in inputs}
    if len(dtypes) > 1:
        raise ShapeError(f"{name} inputs mix dtypes ({', '.join(sorted(dtypes))})")
    return inputs[0].dtype


def _broadcast(name):
    def infer(inputs, p):
        dtype = _same_dtype(name, inputs)
        if len({x.rank for x in inputs}) > 1:
            listing = ", ".join(str(x) for x in inputs)
            raise ShapeError(f"{name} inputs have different ranks ({listing}); insert a Reshape so they match")
        rank = len(inputs[0].shape)
        out = []
        for i in range(1, rank + 1):
            sizes = {x.shape[-i] for x in inputs if len(x.shape) >= i}
            sizes.discard(1)
            if len(sizes) > 1:
                listing = ", ".join(str(x) for x in inputs)
                raise ShapeError(
                    f"{name} cannot broadcast {listing}: dimension {rank + 1 - i} differs "
                    f"({' vs '.join(str(s) for s in sorted(sizes))})"
                )
            out.append(sizes.pop() if sizes else 1)
        return [TensorInfo(tuple(reversed(out)), dtype)]

    return infer


def _infer_concat(inputs, p):
    dtype = _same_dtype("Concat", inputs)
    ranks = {x.rank for x in inputs}
    if len(ranks) > 1:
        raise ShapeError("Concat inputs have different ranks: " + ", ".join(str(x) for x in inputs))
    d = sample_dim(p["dim"], inputs[0].rank)
    first = inputs[0].shape
    for x in inputs[1:]:
        for i, (a, b) in enumerate(zip(first, x.shape)):
            if i != d and a != b:
                listing = ", ".join(str(x) for x in inputs)
                raise ShapeError(f"Concat along dim {d + 1} needs all other sizes equal, but dimension {i + 1} differs: {listing}")
    out = list(first)
    out[d] = sum(x.shape[d] for x in inputs)
    return [TensorInfo(tuple(out), dtype)]


def _merge(name, doc, infer, params=()):
    return LayerSpec(
        name=name,
        category="merge",
        doc=doc,
        params=params,
        construct=lambda inputs, p: Constructor(f"workbench.core.modules.merge.{name}", dict(p)),
        infer=infer,
        flops=no_flops,
        inputs=2,
        variadic=True,
    )


SPECS = (
    _merge("Add", "Element-wise sum of 2+ inputs (residual connections); shapes must broadcast.", _broadcast("Add")),
    _merge("Multiply", "Element-wise product of 2+ inputs (gating); shapes must broadcast.", _broadcast("Multiply")),
    _merge(
        "Concat",
        "Joins 2+ inputs along `dim` (1 = channels/features); the other sizes must match.",
        _infer_concat,
        (Param("dim", INT, 1, "Dimension to join along (batch is 0; negatives count from the end)"),),
    ),
)
