"""Functional calls, Tensor methods and indexing that map onto catalog layers (issue 15).

`fx_mapping` covers the first layers (Add, Concat, Reshape, the first activations and
pools); this module covers the rest wherever torch computes exactly what the layer does:
F.relu6 / hardswish / hardtanh..., the 1-D/3-D and adaptive-max pools, F.interpolate,
F.pad, F.pixel_shuffle, F.layer_norm / group_norm with their module's weights,
torchvision's stochastic_depth, mean / sum / amax over dims, matmul of two batch tensors,
multiplying by a number, x[:, 0] and x[:, a:b], narrow, expand, repeat, stack, and ViT's
class token (cat of an expanded parameter) and learned position table (x + a parameter). Each proposal is still kept only if the
layer's shape inference reproduces the traced shape (fx_graph).
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import fx

from workbench.core.fx_mapping import MapContext, Native, NotNative, _compact, _dim, _tensor, bind_args

__all__ = ["map_after", "map_before"]

_INPLACE = {"inplace": False}

# callable -> (layer, argument names, defaults, {layer param: argument}); the input comes first
ACTIVATIONS: dict[Any, tuple[str, tuple[str, ...], dict, dict]] = {
    F.relu6: ("ReLU6", ("input", "inplace"), _INPLACE, {}),
    F.hardswish: ("Hardswish", ("input", "inplace"), _INPLACE, {}),
    F.hardsigmoid: ("Hardsigmoid", ("input", "inplace"), _INPLACE, {}),
    F.selu: ("SELU", ("input", "inplace"), _INPLACE, {}),
    torch.selu: ("SELU", ("input",), {}, {}),
    F.softsign: ("Softsign", ("input",), {}, {}),
    F.tanhshrink: ("Tanhshrink", ("input",), {}, {}),
    F.logsigmoid: ("LogSigmoid", ("input",), {}, {}),
    F.hardtanh: ("Hardtanh", ("input", "min_val", "max_val", "inplace"),
                 {"min_val": -1.0, "max_val": 1.0, **_INPLACE}, {"min_val": "min_val", "max_val": "max_val"}),
    F.celu: ("CELU", ("input", "alpha", "inplace"), {"alpha": 1.0, **_INPLACE}, {"alpha": "alpha"}),
    F.softplus: ("Softplus", ("input", "beta", "threshold"), {"beta": 1.0, "threshold": 20.0},
                 {"beta": "beta", "threshold": "threshold"}),
    F.threshold: ("Threshold", ("input", "threshold", "value", "inplace"), _INPLACE,
                  {"threshold": "threshold", "value": "value"}),
    F.hardshrink: ("Hardshrink", ("input", "lambd"), {"lambd": 0.5}, {"lambd": "lambd"}),
    F.softshrink: ("Softshrink", ("input", "lambd"), {"lambd": 0.5}, {"lambd": "lambd"}),
    F.glu: ("GLU", ("input", "dim"), {"dim": -1}, {"dim": "dim"}),
    F.pixel_shuffle: ("PixelShuffle", ("input", "upscale_factor"), {}, {"upscale_factor": "upscale_factor"}),
    F.pixel_unshuffle: ("PixelUnshuffle", ("input", "downscale_factor"), {}, {"downscale_factor": "downscale_factor"}),
    # dropouts follow the compiled model's train/eval mode, as the traced self.training did
    F.dropout1d: ("Dropout1d", ("input", "p", "training", "inplace"), {"p": 0.5, "training": True, **_INPLACE}, {"p": "p"}),
    F.dropout3d: ("Dropout3d", ("input", "p", "training", "inplace"), {"p": 0.5, "training": True, **_INPLACE}, {"p": "p"}),
}

_POOL = ("input", "kernel_size", "stride", "padding")
POOLS: dict[Any, tuple[str, tuple[str, ...], dict]] = {  # callable -> (layer, arguments, defaults)
    F.max_pool1d: ("MaxPool1d", (*_POOL, "dilation", "ceil_mode", "return_indices"),
                   {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False}),
    F.max_pool3d: ("MaxPool3d", (*_POOL, "dilation", "ceil_mode", "return_indices"),
                   {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False}),
    F.avg_pool1d: ("AvgPool1d", (*_POOL, "ceil_mode", "count_include_pad"),
                   {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}),
    F.avg_pool3d: ("AvgPool3d", (*_POOL, "ceil_mode", "count_include_pad", "divisor_override"),
                   {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True, "divisor_override": None}),
    F.lp_pool1d: ("LPPool1d", ("input", "norm_type", "kernel_size", "stride", "ceil_mode"), {"stride": None, "ceil_mode": False}),
    F.lp_pool2d: ("LPPool2d", ("input", "norm_type", "kernel_size", "stride", "ceil_mode"), {"stride": None, "ceil_mode": False}),
    F.adaptive_avg_pool1d: ("AdaptiveAvgPool1d", ("input", "output_size"), {}),
    F.adaptive_avg_pool3d: ("AdaptiveAvgPool3d", ("input", "output_size"), {}),
    F.adaptive_max_pool1d: ("AdaptiveMaxPool1d", ("input", "output_size", "return_indices"), {"return_indices": False}),
    F.adaptive_max_pool2d: ("AdaptiveMaxPool2d", ("input", "output_size", "return_indices"), {"return_indices": False}),
}

REDUCTIONS = {torch.mean: "Mean", torch.sum: "Sum", torch.amax: "Max"}
REDUCTION_METHODS = {"mean": "Mean", "sum": "Sum", "amax": "Max"}
MATMULS = (torch.matmul, operator.matmul, torch.bmm)
MULTIPLIES = (operator.mul, torch.mul)


def _plain(value):
    """A literal as a layer parameter: tuples compacted, floats kept as floats."""
    return _compact(value) if isinstance(value, (tuple, list)) else value


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NotNative
    return float(value)


def _args(node: fx.Node) -> tuple[tuple, dict]:
    """(positional, keyword) arguments; a method's `self` is its first positional one."""
    return tuple(node.args), dict(node.kwargs)


def _activation(entry, node: fx.Node, ctx: MapContext) -> Native:
    layer, names, defaults, params = entry
    a = bind_args(names, defaults, node.args, node.kwargs)
    x = _tensor(ctx, a["input"])
    values = {p: ctx.literal(a[arg]) for p, arg in params.items()}
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values.values()):
        raise NotNative
    if "dim" in values:
        values["dim"] = int(values["dim"])
    floats = {"min_val", "max_val", "alpha", "beta", "threshold", "value", "lambd", "p"}
    return Native(layer, {k: float(v) if k in floats else int(v) for k, v in values.items()}, [x])


def _pool(entry, node: fx.Node, ctx: MapContext) -> Native:
    layer, names, defaults = entry
    a = bind_args(names, defaults, node.args, node.kwargs)
    x = _tensor(ctx, a["input"])
    if ctx.literal(a.get("return_indices", False)):
        raise NotNative
    params = {k: _plain(ctx.literal(v)) for k, v in a.items() if k not in ("input", "return_indices")}
    if params.get("stride") in ([], ()):
        params["stride"] = None
    if "output_size" in params and (params["output_size"] is None or None in (params["output_size"]
                                                                              if isinstance(params["output_size"], list) else [])):
        raise NotNative
    if "norm_type" in params:
        params["norm_type"] = _number(params["norm_type"])
    return Native(layer, params, [x])


def _interpolate(node: fx.Node, ctx: MapContext) -> Native:
    a = bind_args(("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
                  {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None,
                   "recompute_scale_factor": None, "antialias": False}, node.args, node.kwargs)
    x = _tensor(ctx, a["input"])
    lit = ctx.literal
    if lit(a["antialias"]) or lit(a["recompute_scale_factor"]):
        raise NotNative
    size, scale = _plain(lit(a["size"])), _plain(lit(a["scale_factor"]))
    if (size is None) == (scale is None) or isinstance(scale, list):
        raise NotNative
    return Native("Upsample", {"size": size, "scale_factor": None if scale is None else _number(scale),
                               "mode": lit(a["mode"]), "align_corners": lit(a["align_corners"])}, [x])


def _pad(node: fx.Node, ctx: MapContext) -> Native:
    a = bind_args(("input", "pad", "mode", "value"), {"mode": "constant", "value": None}, node.args, node.kwargs)
    x = _tensor(ctx, a["input"])
    pad, mode, value = (ctx.literal(a[k]) for k in ("pad", "mode", "value"))
    if not isinstance(pad, (list, tuple)) or len(pad) not in (2, 4, 6) or any(not isinstance(p, int) or p < 0 for p in pad):
        raise NotNative
    pad = list(pad)
    if mode == "constant" and value in (None, 0, 0.0):
        return Native(f"ZeroPad{len(pad) // 2}d", {"padding": pad}, [x])
    if mode == "constant":
        return Native("ConstantPad", {"padding": pad, "value": _number(value)}, [x])
    layer = {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}.get(mode)
    if layer is None:
        raise NotNative
    return Native(layer, {"padding": pad}, [x])


def _owner(ctx: MapContext, **given) -> str | None:
    """The module holding exactly these parameters (`weight=`, `bias=`: a LayerNorm2d's), whose
    state then moves onto the new layer; None when none are given."""
    given = {name: node for name, node in given.items() if node is not None}
    if not given:
        return None
    if not all(isinstance(n, fx.Node) and n.op == "get_attr" and n.target.rpartition(".")[2] == name
               for name, n in given.items()):
        raise NotNative
    owners = {n.target.rpartition(".")[0] for n in given.values()}
    owner = owners.pop()
    if owners or not owner:
        raise NotNative
    try:
        keys = set(ctx.module(owner).state_dict())
    except AttributeError:
        raise NotNative from None
    if keys != set(given):
        raise NotNative
    return owner


def _layer_norm(node: fx.Node, ctx: MapContext) -> Native:
    a = bind_args(("input", "normalized_shape", "weight", "bias", "eps"), {"weight": None, "bias": None, "eps": 1e-5},
                  node.args, node.kwargs)
    x = _tensor(ctx, a["input"])
    shape = ctx.literal(a["normalized_shape"])
    shape = [shape] if isinstance(shape, int) else list(shape)
    if not shape or tuple(shape) != tuple(ctx.shape(x)[len(ctx.shape(x)) - len(shape):]):
        raise NotNative
    if a["weight"] is None and a["bias"] is not None:
        raise NotNative
    owner = _owner(ctx, weight=a["weight"], bias=a["bias"])
    params = {"normalized_dims": len(shape), "eps": _number(ctx.literal(a["eps"])),
              "elementwise_affine": a["weight"] is not None, "bias": a["bias"] is not None or a["weight"] is None}
    return Native("LayerNorm", params, [x], weights=owner)


def _group_norm(node: fx.Node, ctx: MapContext) -> Native:
    a = bind_args(("input", "num_groups", "weight", "bias", "eps"), {"weight": None, "bias": None, "eps": 1e-5},
                  node.args, node.kwargs)
    x = _tensor(ctx, a["input"])
    if (a["weight"] is None) != (a["bias"] is None):
        raise NotNative
    owner = _owner(ctx, weight=a["weight"], bias=a["bias"])
    params = {"num_groups": ctx.literal(a["num_groups"]), "eps": _number(ctx.literal(a["eps"])),
              "affine": a["weight"] is not None}
    return Native("GroupNorm", params, [x], weights=owner)


def _stochastic_depth(node: fx.Node, ctx: MapContext) -> Native:
    """torchvision.ops.stochastic_depth: follows the compiled model's mode like Dropout."""
    a = bind_args(("input", "p", "mode", "training"), {"training": True}, node.args, node.kwargs)
    x = _tensor(ctx, a["input"])
    mode = ctx.literal(a["mode"])
    if mode not in ("batch", "row"):
        raise NotNative
    return Native("StochasticDepth", {"p": _number(ctx.literal(a["p"])), "mode": mode}, [x])


def _reduction(layer: str, args: tuple, kwargs: dict, ctx: MapContext) -> Native:
    a = bind_args(("input", "dim", "keepdim"), {"dim": None, "keepdim": False, "dtype": None}, args, kwargs)
    x = _tensor(ctx, a["input"])
    dims, keepdim = ctx.literal(a["dim"]), ctx.literal(a["keepdim"])
    if ctx.literal(a["dtype"]) is not None or dims in (None, (), []) or not isinstance(keepdim, bool):
        raise NotNative
    rank = len(ctx.shape(x)) + 1
    dims = sorted(_dim(d, rank) for d in (dims if isinstance(dims, (list, tuple)) else [dims]))
    return Native(layer, {"dim": dims[0] if len(dims) == 1 else dims, "keepdim": keepdim}, [x])


def _multiply(node: fx.Node, ctx: MapContext) -> Native:
    """x * 0.5 or 0.5 * x: a number (not a tensor, not a bool) times one batch tensor."""
    if len(node.args) != 2 or node.kwargs:
        raise NotNative
    a, b = node.args
    if isinstance(a, fx.Node) and ctx.batched(a):
        x, factor = a, b
    else:
        x, factor = b, a
    x = _tensor(ctx, x)
    return Native("Scale", {"value": _number(ctx.literal(factor))}, [x])


def _matmul(node: fx.Node, ctx: MapContext) -> Native:
    if len(node.args) != 2 or node.kwargs:
        raise NotNative
    return Native("MatMul", {}, [_tensor(ctx, node.args[0]), _tensor(ctx, node.args[1])])


def _index(node: fx.Node, ctx: MapContext):
    """x[:, 0] -> Select, x[:, 1:5] -> Slice: one indexed dimension after the batch."""
    x = _tensor(ctx, node.args[0])
    index = ctx.literal(node.args[1])
    index = index if isinstance(index, tuple) else (index,)
    rank = len(ctx.shape(x)) + 1
    if index.count(Ellipsis) > 1:
        raise NotNative
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (rank - len(index) + 1) + index[at + 1:]
    full = slice(None)
    picked = [(d, i) for d, i in enumerate(index) if i != full]
    if len(index) > rank or len(picked) != 1 or picked[0][0] == 0:
        raise NotNative
    dim, item = picked[0]
    if isinstance(item, int) and not isinstance(item, bool):
        return Native("Select", {"dim": dim, "index": item}, [x])
    if isinstance(item, slice) and all(v is None or (isinstance(v, int) and not isinstance(v, bool))
                                       for v in (item.start, item.stop, item.step)):
        if item.step is not None and item.step < 1:
            raise NotNative
        return Native("Slice", {"dim": dim, "start": item.start or 0, "end": item.stop, "step": item.step or 1}, [x])
    raise NotNative


def _narrow(args: tuple, kwargs: dict, ctx: MapContext) -> Native:
    a = bind_args(("input", "dim", "start", "length"), {}, args, kwargs)
    x = _tensor(ctx, a["input"])
    dim, start, length = (ctx.literal(a[k]) for k in ("dim", "start", "length"))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (dim, start, length)) or start < 0:
        raise NotNative
    return Native("Slice", {"dim": _dim(dim, len(ctx.shape(x)) + 1), "start": start, "end": start + length}, [x])


def _sizes(node: fx.Node, ctx: MapContext) -> tuple[fx.Node, list]:
    """(tensor, sizes) of x.expand(n, a, b) or x.repeat((n, a, b)); the first size is the batch's."""
    x = _tensor(ctx, node.args[0])
    sizes = list(node.args[1:])
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = list(sizes[0])
    if node.kwargs or len(sizes) != len(ctx.shape(x)) + 1:
        raise NotNative
    return x, sizes


def _expand(node: fx.Node, ctx: MapContext) -> Native:
    x, sizes = _sizes(node, ctx)  # the result is batch first, so its first size is the batch (or -1)
    return Native("Expand", {"shape": [ctx.literal(s) for s in sizes[1:]]}, [x])


def _repeat(node: fx.Node, ctx: MapContext) -> Native:
    x, sizes = _sizes(node, ctx)
    if ctx.literal(sizes[0]) != 1:
        raise NotNative
    return Native("Repeat", {"repeats": [ctx.literal(s) for s in sizes[1:]]}, [x])


def _stack(node: fx.Node, ctx: MapContext) -> Native:
    a = bind_args(("tensors", "dim"), {"dim": 0}, node.args, node.kwargs)
    tensors = a["tensors"]
    if not isinstance(tensors, (list, tuple)) or len(tensors) < 2:
        raise NotNative
    inputs = [_tensor(ctx, t) for t in tensors]
    return Native("Stack", {"dim": _dim(ctx.literal(a["dim"]), len(ctx.shape(inputs[0])) + 2)}, inputs)


def _class_token(node: fx.Node, ctx: MapContext) -> Native:
    """ViT: torch.cat([self.class_token.expand(n, -1, -1), x], dim=1), the token [1, 1, E]."""
    a = bind_args(("tensors", "dim"), {"dim": 0}, node.args, node.kwargs)
    tensors = a["tensors"]
    if not isinstance(tensors, (list, tuple)) or len(tensors) != 2 or not isinstance(tensors[0], fx.Node):
        raise NotNative
    token, x = tensors[0], _tensor(ctx, tensors[1])
    if not (token.op == "call_method" and token.target == "expand" and not token.kwargs and len(token.args) == 4):
        raise NotNative
    source, _batch, *rest = token.args
    if not (isinstance(source, fx.Node) and source.op == "get_attr") or [ctx.literal(r) for r in rest] != [-1, -1]:
        raise NotNative
    if len(ctx.shape(x)) != 2 or _dim(ctx.literal(a["dim"]), 3) != 1:
        raise NotNative
    parameter = operator.attrgetter(source.target)(ctx.module(""))
    if not isinstance(parameter, torch.nn.Parameter) or tuple(parameter.shape) != (1, 1, ctx.shape(x)[1]):
        raise NotNative
    return Native("ClassToken", {}, [x], tensors=(("token", source.target, None),))


def _learned_positions(node: fx.Node, ctx: MapContext) -> Native:
    """ViT: x + self.pos_embedding, a parameter [1, T, E] added to [N, T, E]: a learned
    PositionalEncoding of max_len T (its table is the parameter, without the leading 1)."""
    if len(node.args) != 2 or node.kwargs:
        raise NotNative
    a, b = node.args
    x, table = (a, b) if isinstance(a, fx.Node) and ctx.batched(a) else (b, a)
    x = _tensor(ctx, x)
    if not (isinstance(table, fx.Node) and table.op == "get_attr") or len(ctx.shape(x)) != 2:
        raise NotNative
    parameter = operator.attrgetter(table.target)(ctx.module(""))
    steps, width = ctx.shape(x)
    if not isinstance(parameter, torch.nn.Parameter) or tuple(parameter.shape) != (1, steps, width):
        raise NotNative
    return Native("PositionalEncoding", {"kind": "learned", "max_len": steps, "dropout": 0.0}, [x],
                  tensors=(("pe", table.target, [steps, width]),))


FUNCTION_RULES: dict[Any, Callable] = {
    operator.add: _learned_positions,
    torch.add: _learned_positions,
    F.interpolate: _interpolate,
    F.pad: _pad,
    F.layer_norm: _layer_norm,
    F.group_norm: _group_norm,
    torch.narrow: lambda n, c: _narrow(*_args(n), c),
    torch.stack: _stack,
    **{f: _matmul for f in MATMULS},
    **{f: _multiply for f in MULTIPLIES},
    **{f: (lambda n, c, layer=layer: _reduction(layer, *_args(n), c)) for f, layer in REDUCTIONS.items()},
    operator.getitem: _index,
}
METHOD_RULES: dict[str, Callable] = {
    "narrow": lambda n, c: _narrow(*_args(n), c),
    "expand": _expand,
    "repeat": _repeat,
    "matmul": _matmul,
    "bmm": _matmul,
    "mul": _multiply,
    **{m: (lambda n, c, layer=layer: _reduction(layer, *_args(n), c)) for m, layer in REDUCTION_METHODS.items()},
}


def _stochastic_depth_function():
    try:
        from torchvision.ops.stochastic_depth import stochastic_depth
    except ImportError:  # torchvision is optional for the importer
        return None
    return stochastic_depth


def _function_rule(target) -> Callable | None:
    try:
        if target in ACTIVATIONS:
            return lambda n, c: _activation(ACTIVATIONS[target], n, c)
        if target in POOLS:
            return lambda n, c: _pool(POOLS[target], n, c)
        rule = FUNCTION_RULES.get(target)
    except TypeError:  # an unhashable target
        return None
    if rule is None and target is not None and target is _stochastic_depth_function():
        return _stochastic_depth
    return rule


def map_before(node: fx.Node, ctx: MapContext) -> Native | None:
    """Patterns that must win over fx_mapping's generic reading (a class-token cat is no Concat)."""
    if node.op == "call_function" and node.target in (torch.cat, torch.concat, torch.concatenate):
        try:
            return _class_token(node, ctx)
        except NotNative:
            return None
    return None


def map_after(node: fx.Node, ctx: MapContext) -> Native | None:
    """A catalog layer for a call fx_mapping does not know, or None."""
    if node.op == "call_function":
        rule = _function_rule(node.target)
    elif node.op == "call_method":
        rule = METHOD_RULES.get(node.target)
    else:
        rule = None
    if rule is None:
        return None
    try:
        return rule(node, ctx)
    except NotNative:
        return None
