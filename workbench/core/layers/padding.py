"""Padding layers: ZeroPad1d/2d/3d, and ConstantPad, ReflectionPad and ReplicationPad over
1 to 3 trailing dimensions.

`padding` is one number (every side) or, as F.pad takes it, a pair per padded dimension
starting from the last: [left, right], [left, right, top, bottom], or six values with
[front, back] last. The generic layers pad as many trailing dimensions as the list has
pairs (one number: every spatial dimension of [N, C, ...]) and build torch's matching
ConstantPad{n}d / ReflectionPad{n}d / ReplicationPad{n}d.
"""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.layers.conv import MAX_WINDOW
from workbench.core.params import FLOAT, INTS, Param, ParamError
from workbench.core.tensors import ShapeError, TensorInfo


def _check_pairs(n: int | None):
    def check(p):
        pad = p["padding"]
        if isinstance(pad, tuple):
            if len(pad) % 2 or len(pad) > 6:
                raise ParamError("padding", f"needs one number, or 2, 4 or 6 values (a pair per dimension), got {len(pad)}")
            if n is not None and len(pad) != 2 * n:
                raise ParamError("padding", f"needs one number or {2 * n} values (a pair per dimension), got {len(pad)}")

    return check


def _dims(name: str, x: TensorInfo, pad, fixed: int | None) -> int:
    """How many trailing dimensions are padded."""
    if fixed is not None:
        n = fixed
    elif isinstance(pad, tuple):
        n = len(pad) // 2
    else:
        n = x.rank - 2
        if not 1 <= n <= 3:
            raise ShapeError(
                f"{name} pads the positions of [N, C, L], [N, C, H, W] or [N, C, D, H, W], but {x} has none of these "
                "ranks: give padding as 2, 4 or 6 values to say which trailing dimensions to pad"
            )
    if x.rank < n + 1:
        raise ShapeError(f"{name} pads {n} trailing dimension{'s' if n > 1 else ''}, but {x} has only {x.rank - 1} after the batch")
    return n


def _sides(pad, n: int) -> tuple[int, ...]:
    return pad if isinstance(pad, tuple) else (pad,) * (2 * n)


def _infer(name: str, fixed: int | None, mode: str):
    def infer(inputs, p):
        (x,) = inputs
        n = _dims(name, x, p["padding"], fixed)
        if mode in ("reflect", "replicate") and x.rank > n + 2:
            raise ShapeError(f"{name} over {n} dimension{'s' if n > 1 else ''} takes [N, C, ...] with {n} positions, got {x}")
        sides = _sides(p["padding"], n)
        value = p.get("value", 0.0)
        if x.dtype == "int64" and (value != int(value) or abs(value) >= 2**63):
            raise ShapeError(f"{name} pads an int64 tensor {x}, so its value must be a whole number within int64, "
                             f"got {value!r}")
        shape = list(x.shape)
        for i in range(n):
            axis = len(shape) - 1 - i
            before, after = sides[2 * i], sides[2 * i + 1]
            if mode == "reflect" and max(before, after) >= shape[axis]:
                raise ShapeError(
                    f"{name} pads {max(before, after)} on a size-{shape[axis]} dimension of {x}: reflection needs "
                    "padding smaller than the size; pad less or use ReplicationPad"
                )
            if mode == "replicate" and shape[axis] < 1:
                raise ShapeError(f"{name} cannot replicate the border of an empty dimension of {x}")
            shape[axis] += before + after
        return [TensorInfo(tuple(shape), x.dtype)]

    return infer


def _construct(stem: str, fixed: int | None, value: bool):
    def construct(inputs, p):
        n = _dims(stem, inputs[0], p["padding"], fixed)
        kwargs = {"padding": p["padding"]}
        if value:
            kwargs["value"] = p["value"]
        return Constructor(f"torch.nn.{stem}{n}d", kwargs, f"nn.{stem}{n}d")

    return construct


def _padding(fixed: int | None) -> Param:
    if fixed is None:
        text = "One number for every side of every position dimension, or 2, 4 or 6 values [left, right, top, bottom, front, back]"
    else:
        order = ["left, right", "left, right, top, bottom", "left, right, top, bottom, front, back"][fixed - 1]
        text = f"One number for every side, or {2 * fixed} values [{order}]"
    return Param("padding", INTS, 1, text, min=0, max=MAX_WINDOW)


def _zero_pad(n: int) -> LayerSpec:
    name = f"ZeroPad{n}d"
    shape = {1: "[N, C, L]", 2: "[N, C, H, W]", 3: "[N, C, D, H, W]"}[n]
    return LayerSpec(
        name=name,
        category="padding",
        doc=f"Adds zeros around the last {n} dimension{'s' if n > 1 else ''} of {shape}.",
        params=(_padding(n),),
        construct=lambda inputs, p: Constructor(f"torch.nn.{name}", dict(p), f"nn.{name}"),
        infer=_infer(name, n, "constant"),
        flops=no_flops,
        check=_check_pairs(n),
    )


def _generic(name: str, stem: str, mode: str, doc: str) -> LayerSpec:
    params = (_padding(None),)
    if mode == "constant":
        params += (Param("value", FLOAT, 0.0, "The value padded in", min=-1e30, max=1e30),)
    return LayerSpec(
        name=name,
        category="padding",
        doc=doc,
        params=params,
        construct=_construct(stem, None, mode == "constant"),
        infer=_infer(name, None, mode),
        flops=no_flops,
        check=_check_pairs(None),
    )


SPECS = (
    _zero_pad(1),
    _zero_pad(2),
    _zero_pad(3),
    _generic("ConstantPad", "ConstantPad", "constant", "Pads 1–3 trailing dimensions with a constant value."),
    _generic("ReflectionPad", "ReflectionPad", "reflect", "Pads 1–3 trailing dimensions with a mirror image of the border (no edge repeat)."),
    _generic("ReplicationPad", "ReplicationPad", "replicate", "Pads 1–3 trailing dimensions by repeating the border values."),
)
