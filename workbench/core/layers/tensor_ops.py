"""Tensor operations without weights: Unflatten, Squeeze, Unsqueeze, Slice, Select, Repeat,
Expand, Split and Chunk (several outputs) and Stack.

Every `dim` counts the batch as 0, as torch does, and none may be the batch. Split and
Chunk have MAX_PIECES output ports; the pieces a node really makes are its inferred
outputs, and an edge from a port past them is reported by shape inference.
"""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import INT, INTS, SHAPE, Param, ParamError
from workbench.core.tensors import ShapeError, TensorInfo, sample_dim

MAX_PIECES = 8
_MODULES = "workbench.core.modules.tensor_ops."
_DIM_HELP = "Dimension (batch is 0; negatives count from the end)"


def _module(name: str):
    return lambda inputs, p: Constructor(_MODULES + name, dict(p))


def _replace(shape: tuple[int, ...], axis: int, sizes: tuple[int, ...]) -> tuple[int, ...]:
    return shape[:axis] + sizes + shape[axis + 1 :]


# --- Unflatten / Squeeze / Unsqueeze --------------------------------------------------------


def _check_unflatten(p):
    sizes = p["unflattened_size"]
    if sizes.count(-1) > 1:
        raise ParamError("unflattened_size", "at most one size may be -1")
    if 0 in sizes or any(s < -1 for s in sizes):
        raise ParamError("unflattened_size", "sizes must be positive (or a single -1)")


def _infer_unflatten(inputs, p):
    (x,) = inputs
    axis = sample_dim(p["dim"], x.rank)
    size, target = x.shape[axis], list(p["unflattened_size"])
    known = math.prod(s for s in target if s != -1)
    if -1 in target:
        if size % known:
            raise ShapeError(f"Unflatten cannot split size {size} (dim {p['dim']} of {x}) into sizes {list(p['unflattened_size'])}")
        target[target.index(-1)] = size // known
    elif known != size:
        raise ShapeError(
            f"Unflatten sizes {list(p['unflattened_size'])} multiply to {known}, but dim {p['dim']} of {x} has {size}"
        )
    return [TensorInfo(_replace(x.shape, axis, tuple(target)), x.dtype)]


def _infer_squeeze(inputs, p):
    (x,) = inputs
    dims = p["dim"] if isinstance(p["dim"], tuple) else (p["dim"],)
    axes = sorted({sample_dim(d, x.rank) for d in dims})
    for axis in axes:
        if x.shape[axis] != 1:
            raise ShapeError(f"Squeeze removes size-1 dimensions, but dimension {axis + 1} of {x} has size {x.shape[axis]}")
    return [TensorInfo(tuple(s for i, s in enumerate(x.shape) if i not in axes), x.dtype)]


def _infer_unsqueeze(inputs, p):
    (x,) = inputs
    rank = x.rank + 1
    d = p["dim"]
    if not -rank <= d < rank or d % rank == 0:
        raise ShapeError(f"Unsqueeze dim={d} must be between 1 and {rank - 1} (or -{rank - 1}..-1) for {x}; 0 is the batch")
    axis = d % rank - 1
    return [TensorInfo(x.shape[:axis] + (1,) + x.shape[axis:], x.dtype)]


UNFLATTEN = LayerSpec(
    name="Unflatten",
    category="shape",
    doc="Splits one dimension into several: dim 1 of [N, 768] with sizes [3, 16, 16] gives [N, 3, 16, 16].",
    params=(
        Param("dim", INT, 1, _DIM_HELP),
        Param("unflattened_size", SHAPE, [-1, 1], "The sizes it becomes (one may be -1)", min=-1),
    ),
    construct=lambda inputs, p: Constructor(
        "torch.nn.Unflatten", {"dim": p["dim"], "unflattened_size": p["unflattened_size"]}, "nn.Unflatten"
    ),
    infer=_infer_unflatten,
    flops=no_flops,
    check=_check_unflatten,
)

SQUEEZE = LayerSpec(
    name="Squeeze",
    category="shape",
    doc="Removes size-1 dimensions: dim 2 of [N, C, 1] gives [N, C].",
    params=(Param("dim", INTS, -1, "The size-1 dimension(s) to remove (batch is 0; negatives count from the end)"),),
    construct=_module("Squeeze"),
    infer=_infer_squeeze,
    flops=no_flops,
)

UNSQUEEZE = LayerSpec(
    name="Unsqueeze",
    category="shape",
    doc="Inserts a size-1 dimension: dim 1 of [N, L] gives [N, 1, L] (a channel for Conv1d).",
    params=(Param("dim", INT, 1, "Where the new dimension goes in the result (batch is 0; -1 appends)"),),
    construct=_module("Unsqueeze"),
    infer=_infer_unsqueeze,
    flops=no_flops,
)


# --- Slice / Select --------------------------------------------------------------------------


def _infer_slice(inputs, p):
    (x,) = inputs
    axis = sample_dim(p["dim"], x.rank)
    size = x.shape[axis]
    length = len(range(*slice(p["start"], p["end"], p["step"]).indices(size)))
    if length == 0:
        raise ShapeError(
            f"Slice {p['start']}:{'' if p['end'] is None else p['end']}:{p['step']} of dimension {axis + 1} "
            f"(size {size}) of {x} is empty"
        )
    return [TensorInfo(_replace(x.shape, axis, (length,)), x.dtype)]


def _infer_select(inputs, p):
    (x,) = inputs
    axis = sample_dim(p["dim"], x.rank)
    size, index = x.shape[axis], p["index"]
    if not -size <= index < size:
        raise ShapeError(f"Select index {index} is out of range for dimension {axis + 1} of {x} (valid: {-size}..{size - 1})")
    return [TensorInfo(x.shape[:axis] + x.shape[axis + 1 :], x.dtype)]


_LIMIT = 2**31 - 1

SLICE = LayerSpec(
    name="Slice",
    category="shape",
    doc="Keeps positions start:end:step along `dim`, as x[:, start:end:step] does (negatives count from the end).",
    params=(
        Param("dim", INT, 1, _DIM_HELP),
        Param("start", INT, 0, "First position kept (negative: from the end)", min=-_LIMIT, max=_LIMIT),
        Param("end", INT, None, "Stop before this position (empty: to the end)", min=-_LIMIT, max=_LIMIT, optional=True),
        Param("step", INT, 1, "Keep every step-th position", min=1, max=_LIMIT),
    ),
    construct=_module("Slice"),
    infer=_infer_slice,
    flops=no_flops,
)

SELECT = LayerSpec(
    name="Select",
    category="shape",
    doc="Takes one position along `dim`, which disappears: index 0 of dim 1 of [N, T, E] is the first step [N, E] (a CLS token).",
    params=(
        Param("dim", INT, 1, _DIM_HELP),
        Param("index", INT, 0, "The position (negative: from the end)", min=-_LIMIT, max=_LIMIT),
    ),
    construct=_module("Select"),
    infer=_infer_select,
    flops=no_flops,
)


# --- Repeat / Expand -------------------------------------------------------------------------


def _per_sample(name: str, what: str, values: tuple[int, ...], x: TensorInfo) -> None:
    if len(values) != len(x.shape):
        raise ShapeError(f"{name} {what} {list(values)} needs one value per dimension after the batch of {x} ({len(x.shape)})")


def _infer_repeat(inputs, p):
    (x,) = inputs
    _per_sample("Repeat", "repeats", p["repeats"], x)
    return [TensorInfo(tuple(s * r for s, r in zip(x.shape, p["repeats"])), x.dtype)]


def _infer_expand(inputs, p):
    (x,) = inputs
    _per_sample("Expand", "shape", p["shape"], x)
    out = []
    for i, (s, t) in enumerate(zip(x.shape, p["shape"])):
        if t == -1:
            out.append(s)
        elif s in (1, t):
            out.append(t)
        else:
            raise ShapeError(f"Expand can only grow size-1 dimensions, but dimension {i + 1} of {x} is {s}, not 1 or {t}")
    return [TensorInfo(tuple(out), x.dtype)]


REPEAT = LayerSpec(
    name="Repeat",
    category="shape",
    doc="Tiles each sample: repeats [1, 2, 2] turns [N, C, H, W] into [N, C, 2H, 2W] (copies).",
    params=(Param("repeats", SHAPE, [1, 2], "How many times per dimension after the batch", min=1),),
    construct=lambda inputs, p: Constructor(_MODULES + "Repeat", {"repeats": list(p["repeats"])}),
    infer=_infer_repeat,
    flops=no_flops,
)

EXPAND = LayerSpec(
    name="Expand",
    category="shape",
    doc="Broadcasts size-1 dimensions to `shape` without copying: [N, 1, E] to [N, 16, E] (-1 keeps a size).",
    params=(Param("shape", SHAPE, [-1, -1], "Target size per dimension after the batch (-1: keep)", min=-1),),
    construct=lambda inputs, p: Constructor(_MODULES + "Expand", {"shape": list(p["shape"])}),
    infer=_infer_expand,
    flops=no_flops,
)


# --- Split / Chunk (several outputs) ---------------------------------------------------------


def _pieces(name: str, x: TensorInfo, axis: int, sizes: list[int]) -> list[TensorInfo]:
    if len(sizes) > MAX_PIECES:
        raise ShapeError(
            f"{name} would make {len(sizes)} pieces of dimension {axis + 1} of {x}, but a node has at most "
            f"{MAX_PIECES} outputs: use larger pieces"
        )
    return [TensorInfo(_replace(x.shape, axis, (s,)), x.dtype) for s in sizes]


def _infer_split(inputs, p):
    (x,) = inputs
    axis = sample_dim(p["dim"], x.rank)
    size, split = x.shape[axis], p["split_size"]
    if isinstance(split, tuple):
        if sum(split) != size:
            raise ShapeError(f"Split sizes {list(split)} add up to {sum(split)}, but dimension {axis + 1} of {x} has {size}")
        sizes = list(split)
    else:
        sizes = [min(split, size - start) for start in range(0, size, split)]
    return _pieces("Split", x, axis, sizes)


def _infer_chunk(inputs, p):
    (x,) = inputs
    axis = sample_dim(p["dim"], x.rank)
    size = x.shape[axis]
    step = -(-size // p["chunks"])
    sizes = [min(step, size - start) for start in range(0, size, step)]
    return _pieces("Chunk", x, axis, sizes)


SPLIT = LayerSpec(
    name="Split",
    category="shape",
    doc=f"Cuts along `dim` into pieces of split_size (the last may be shorter) or of listed sizes; one output each (up to {MAX_PIECES}).",
    params=(
        Param("split_size", INTS, 1, "Size of every piece, or a list of the sizes (they must add up to the dimension)", min=1, max=_LIMIT),
        Param("dim", INT, 1, _DIM_HELP),
    ),
    construct=_module("Split"),
    infer=_infer_split,
    flops=no_flops,
    outputs=MAX_PIECES,
)

CHUNK = LayerSpec(
    name="Chunk",
    category="shape",
    doc="Cuts along `dim` into `chunks` nearly equal pieces (torch.chunk; fewer when the size is small), one output each.",
    params=(Param("chunks", INT, 2, "Number of pieces", min=1, max=MAX_PIECES), Param("dim", INT, 1, _DIM_HELP)),
    construct=_module("Chunk"),
    infer=_infer_chunk,
    flops=no_flops,
    outputs=MAX_PIECES,
)


# --- Stack -----------------------------------------------------------------------------------


def _infer_stack(inputs, p):
    shapes = {x.shape for x in inputs}
    dtypes = {x.dtype for x in inputs}
    if len(shapes) > 1 or len(dtypes) > 1:
        raise ShapeError("Stack needs inputs of one shape and dtype, got " + ", ".join(f"{x} {x.dtype}" for x in inputs))
    x = inputs[0]
    rank = x.rank + 1
    d = p["dim"]
    if not -rank <= d < rank or d % rank == 0:
        raise ShapeError(f"Stack dim={d} must be between 1 and {rank - 1} (or -{rank - 1}..-1) for {x}; 0 is the batch")
    axis = d % rank - 1
    return [TensorInfo(x.shape[:axis] + (len(inputs),) + x.shape[axis:], x.dtype)]


STACK = LayerSpec(
    name="Stack",
    category="merge",
    doc="Stacks 2+ inputs of one shape along a new dimension: two [N, E] at dim 1 give [N, 2, E].",
    params=(Param("dim", INT, 1, "Where the new dimension goes in the result (batch is 0)"),),
    construct=_module("Stack"),
    infer=_infer_stack,
    flops=no_flops,
    inputs=2,
    variadic=True,
)

SPECS = (UNFLATTEN, SQUEEZE, UNSQUEEZE, SLICE, SELECT, REPEAT, EXPAND, SPLIT, CHUNK, STACK)
