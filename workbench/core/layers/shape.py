"""Layers that rearrange a tensor without computing: Flatten, Reshape, Permute, Transpose."""

from __future__ import annotations

import math

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import INT, SHAPE, Param, ParamError
from workbench.core.tensors import ShapeError, TensorInfo, format_shape, sample_dim


def _infer_flatten(inputs, p):
    (x,) = inputs
    start = sample_dim(p["start_dim"], x.rank, "start_dim")
    end = sample_dim(p["end_dim"], x.rank, "end_dim")
    if end < start:
        raise ShapeError(f"end_dim={p['end_dim']} comes before start_dim={p['start_dim']}")
    s = x.shape
    return [TensorInfo((*s[:start], math.prod(s[start : end + 1]), *s[end + 1 :]), x.dtype)]


def _check_reshape(p):
    shape = p["shape"]
    if shape.count(-1) > 1:
        raise ParamError("shape", "at most one size may be -1")
    if 0 in shape:
        raise ParamError("shape", "sizes must be positive (or a single -1)")


def _infer_reshape(inputs, p):
    (x,) = inputs
    target = list(p["shape"])
    total = math.prod(x.shape)
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if total % known:
            raise ShapeError(f"cannot reshape {x} ({total} values per sample) to {format_shape(p['shape'])}")
        target[target.index(-1)] = total // known
    elif known != total:
        raise ShapeError(
            f"cannot reshape {x} ({total} values per sample) to {format_shape(p['shape'])} ({known} values)"
        )
    return [TensorInfo(tuple(target), x.dtype)]


def _infer_permute(inputs, p):
    (x,) = inputs
    dims = list(p["dims"])
    rank = x.rank
    if len(dims) != rank:
        raise ShapeError(f"dims must list all {rank} dimensions of {x}, got {len(dims)}")
    normal = [d % rank if -rank <= d < rank else None for d in dims]
    if None in normal or sorted(normal) != list(range(rank)):
        raise ShapeError(f"dims={dims} is not a permutation of 0..{rank - 1}")
    if normal[0] != 0:
        raise ShapeError("dims must keep the batch dimension first (start with 0)")
    full = (None, *x.shape)
    return [TensorInfo(tuple(full[d] for d in normal[1:]), x.dtype)]


def _infer_transpose(inputs, p):
    (x,) = inputs
    a = sample_dim(p["dim0"], x.rank, "dim0")
    b = sample_dim(p["dim1"], x.rank, "dim1")
    s = list(x.shape)
    s[a], s[b] = s[b], s[a]
    return [TensorInfo(tuple(s), x.dtype)]


FLATTEN = LayerSpec(
    name="Flatten",
    category="shape",
    doc="Flattens dimensions start_dim..end_dim into one: [N, C, H, W] → [N, C·H·W].",
    params=(
        Param("start_dim", INT, 1, "First dimension to flatten (batch is 0)"),
        Param("end_dim", INT, -1, "Last dimension to flatten"),
    ),
    construct=lambda inputs, p: Constructor("torch.nn.Flatten", dict(p), "nn.Flatten"),
    infer=_infer_flatten,
    flops=no_flops,
)

RESHAPE = LayerSpec(
    name="Reshape",
    category="shape",
    doc="Reshapes each sample to `shape` (batch implicit; one size may be -1).",
    params=(Param("shape", SHAPE, [-1], "Per-sample target shape, e.g. [16, 7, 7]", min=-1),),
    construct=lambda inputs, p: Constructor("workbench.core.modules.shape.Reshape", {"shape": list(p["shape"])}),
    infer=_infer_reshape,
    flops=no_flops,
    check=_check_reshape,
)

PERMUTE = LayerSpec(
    name="Permute",
    category="shape",
    doc="Reorders dimensions, e.g. [0, 2, 1] turns [N, C, T] into [N, T, C].",
    params=(Param("dims", SHAPE, [0, 2, 1], "A permutation of all dimensions, batch (0) first", min=-8),),
    construct=lambda inputs, p: Constructor("workbench.core.modules.shape.Permute", {"dims": [d % inputs[0].rank for d in p["dims"]]}),
    infer=_infer_permute,
    flops=no_flops,
)

TRANSPOSE = LayerSpec(
    name="Transpose",
    category="shape",
    doc="Swaps two dimensions, e.g. 1 and 2 turns [N, C, T] into [N, T, C].",
    params=(
        Param("dim0", INT, 1, "First dimension (batch is 0)"),
        Param("dim1", INT, 2, "Second dimension"),
    ),
    construct=lambda inputs, p: Constructor("workbench.core.modules.shape.Transpose", dict(p)),
    infer=_infer_transpose,
    flops=no_flops,
)

SPECS = (FLATTEN, RESHAPE, PERMUTE, TRANSPOSE)

