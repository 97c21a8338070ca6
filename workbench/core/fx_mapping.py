"""Which torch.fx calls become which catalog layers, with their params read off the call.

`map_native(node, ctx)` returns a `Native` (layer type, params, the fx nodes feeding it in
port order, and where its weights live in the original model), an `Alias` for calls that
leave their input unchanged (Identity, contiguous, a one-tensor cat), or None when no
catalog layer fits;
the importer then writes an FxModule instead. A mapping is only proposed here: the
importer keeps it only if shape inference reproduces the traced shape exactly.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import fx, nn

__all__ = ["Alias", "MapContext", "Native", "NotNative", "map_native"]


class NotNative(Exception):
    """The call does not fit a catalog layer."""


@dataclass(frozen=True)
class Alias:
    """The call returns (a copy of) `source` unchanged: no node is needed."""

    source: fx.Node


@dataclass
class Native:
    type: str
    params: dict
    inputs: list  # fx nodes, in port order
    weights: str | None = None  # module path in the original model whose state moves over
    weights_prefix: str = ""  # where that state sits inside the new layer ("rnn." for LSTM)
    extra: dict = field(default_factory=dict)
    tensors: tuple = ()  # (name in the new layer, parameter path in the original, new shape or None): ViT's class token


class MapContext:
    """What mapping needs to know about the traced graph (supplied by the importer)."""

    def batched(self, node) -> bool:  # a tensor with the batch first
        raise NotImplementedError

    def literal(self, value) -> Any:  # a constant, or NotNative
        raise NotImplementedError

    def shape(self, node) -> tuple[int, ...]:  # per-sample shape of a batched node
        raise NotImplementedError

    def module(self, target: str) -> nn.Module:
        raise NotImplementedError


def _compact(value):
    """(3, 3) -> 3, (3, 1) -> [3, 1]: as a user would write it in the inspector."""
    if isinstance(value, (tuple, list)):
        items = [_compact(v) for v in value]
        return items[0] if items and all(v == items[0] for v in items) else items
    return value


def _tensor(ctx: MapContext, value) -> fx.Node:
    if isinstance(value, fx.Node) and ctx.batched(value):
        return value
    raise NotNative


def _dim(dim: int, rank: int) -> int:
    """A torch dim normalised to 1..rank-1 (the batch, 0, is refused)."""
    if not isinstance(dim, int) or isinstance(dim, bool) or not -rank <= dim < rank or dim % rank == 0:
        raise NotNative
    return dim % rank


# ---- torch.nn modules ----------------------------------------------------------------


def _conv(m, node, ctx):
    if isinstance(m, nn.ConvTranspose2d) and m.padding_mode != "zeros":
        raise NotNative
    params = {
        "out_channels": m.out_channels,
        "kernel_size": _compact(m.kernel_size),
        "stride": _compact(m.stride),
        "padding": m.padding if isinstance(m.padding, str) else _compact(m.padding),
        "dilation": _compact(m.dilation),
        "groups": m.groups,
        "bias": m.bias is not None,
    }
    if isinstance(m, nn.ConvTranspose2d):
        params["output_padding"] = _compact(m.output_padding)
    else:
        params["padding_mode"] = m.padding_mode
    return type(m).__name__, params


def _batchnorm(m, node, ctx):
    return type(m).__name__, {
        "eps": m.eps, "momentum": m.momentum, "affine": m.affine, "track_running_stats": m.track_running_stats,
    }


def _layernorm(m, node, ctx):
    return "LayerNorm", {
        "normalized_dims": len(m.normalized_shape), "eps": m.eps,
        "elementwise_affine": m.elementwise_affine, "bias": m.bias is not None or not m.elementwise_affine,
    }


def _pool(m, node, ctx):
    if getattr(m, "return_indices", False):
        raise NotNative
    params = {"kernel_size": _compact(m.kernel_size), "stride": _compact(m.stride), "padding": _compact(m.padding)}
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
        params["dilation"] = _compact(m.dilation)
    else:
        params["count_include_pad"] = m.count_include_pad
        params["divisor_override"] = m.divisor_override
    params["ceil_mode"] = m.ceil_mode
    return type(m).__name__, params


def _adaptive(m, node, ctx):
    size = m.output_size
    if size is None or (isinstance(size, (tuple, list)) and None in size):
        raise NotNative
    return type(m).__name__, {"output_size": _compact(size)}


def _embedding(m, node, ctx):
    if m.max_norm is not None or m.scale_grad_by_freq or m.sparse:
        raise NotNative
    return "Embedding", {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim, "padding_idx": m.padding_idx}


def _simple(name: str, *attrs: str):
    return lambda m, node, ctx: (name, {a: getattr(m, a) for a in attrs})


def _softmax(name):
    def mapper(m, node, ctx):
        if m.dim is None:
            raise NotNative
        return name, {"dim": m.dim}

    return mapper


MODULES: dict[type, Callable] = {
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.ConvTranspose2d: _conv,
    nn.Linear: lambda m, n, c: ("Linear", {"out_features": m.out_features, "bias": m.bias is not None}),
    nn.BatchNorm1d: _batchnorm,
    nn.BatchNorm2d: _batchnorm,
    nn.LayerNorm: _layernorm,
    nn.GroupNorm: lambda m, n, c: ("GroupNorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine}),
    nn.ReLU: _simple("ReLU"),
    nn.LeakyReLU: _simple("LeakyReLU", "negative_slope"),
    nn.ELU: _simple("ELU", "alpha"),
    nn.GELU: _simple("GELU", "approximate"),
    nn.SiLU: _simple("SiLU"),
    nn.Mish: _simple("Mish"),
    nn.Tanh: _simple("Tanh"),
    nn.Sigmoid: _simple("Sigmoid"),
    nn.Softmax: _softmax("Softmax"),
    nn.LogSoftmax: _softmax("LogSoftmax"),
    nn.MaxPool1d: _pool,
    nn.MaxPool2d: _pool,
    nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool1d: _adaptive,
    nn.AdaptiveAvgPool2d: _adaptive,
    nn.Dropout: _simple("Dropout", "p"),
    nn.Dropout2d: _simple("Dropout2d", "p"),
    nn.Flatten: _simple("Flatten", "start_dim", "end_dim"),
    nn.Embedding: _embedding,
}


def _recurrent(m, node: fx.Node, ctx: MapContext) -> Native:
    """nn.LSTM/GRU/RNN (batch first, no initial state) read through getitem: [0] is the
    sequence; [1][-1] (GRU, RNN) or [1][0][-1] (LSTM) the last layer's final state."""
    path, source = [], node
    while source.op == "call_function" and source.target is operator.getitem:
        path.insert(0, source.args[1])
        source = source.args[0]
    if source.op != "call_module" or len(source.args) != 1 or source.kwargs:
        raise NotNative
    if not m.batch_first or getattr(m, "proj_size", 0):
        raise NotNative
    kind = type(m).__name__
    last = [1, 0, -1] if kind == "LSTM" else [1, -1]
    if path == [0]:
        output = "sequence"
    elif path == last and not m.bidirectional:
        output = "last"
    else:
        raise NotNative
    params = {
        "hidden_size": m.hidden_size, "num_layers": m.num_layers, "bias": m.bias,
        "dropout": float(m.dropout), "bidirectional": m.bidirectional, "output": output,
    }
    if kind == "RNN":
        params["nonlinearity"] = m.nonlinearity
    return Native(kind, params, [_tensor(ctx, source.args[0])], weights=source.target, weights_prefix="rnn.")


RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)


# ---- functions and methods -------------------------------------------------------------

# op -> (positional parameter names, defaults)
SIGNATURES: dict[str, tuple[tuple[str, ...], dict]] = {
    "add": (("input", "other"), {"alpha": 1}),
    "mul": (("input", "other"), {}),
    "cat": (("tensors", "dim"), {"dim": 0}),
    "flatten": (("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1}),
    "reshape": (("input",), {}),
    "permute": (("input",), {}),
    "transpose": (("input", "dim0", "dim1"), {}),
    "unary": (("input", "inplace"), {"inplace": False}),
    "gelu": (("input", "approximate"), {"approximate": "none"}),
    "leaky_relu": (("input", "negative_slope", "inplace"), {"negative_slope": 0.01, "inplace": False}),
    "elu": (("input", "alpha", "inplace"), {"alpha": 1.0, "inplace": False}),
    "softmax": (("input", "dim", "_stacklevel", "dtype"), {"dim": None, "_stacklevel": 3, "dtype": None}),
    "dropout": (("input", "p", "training", "inplace"), {"p": 0.5, "training": True, "inplace": False}),
    "adaptive_avg_pool2d": (("input", "output_size"), {}),
    "max_pool2d": (
        ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
        {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False},
    ),
    "avg_pool2d": (
        ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
        {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True, "divisor_override": None},
    ),
    "mean": (("input", "dim", "keepdim"), {"dim": None, "keepdim": False, "dtype": None}),
}

FUNCTIONS: dict[Any, tuple[str, str]] = {  # callable -> (op, layer or variant)
    operator.add: ("add", "Add"), torch.add: ("add", "Add"),
    operator.mul: ("mul", "Multiply"), torch.mul: ("mul", "Multiply"),
    torch.cat: ("cat", "Concat"), torch.concat: ("cat", "Concat"), torch.concatenate: ("cat", "Concat"),
    torch.flatten: ("flatten", "Flatten"),
    torch.reshape: ("reshape", "Reshape"), torch.squeeze: ("reshape", "Reshape"), torch.unsqueeze: ("reshape", "Reshape"),
    torch.permute: ("permute", "Permute"),
    torch.transpose: ("transpose", "Transpose"), torch.swapaxes: ("transpose", "Transpose"),
    torch.relu: ("unary", "ReLU"), F.relu: ("unary", "ReLU"),
    torch.sigmoid: ("unary", "Sigmoid"), F.sigmoid: ("unary", "Sigmoid"),
    torch.tanh: ("unary", "Tanh"), F.tanh: ("unary", "Tanh"),
    F.silu: ("unary", "SiLU"), F.mish: ("unary", "Mish"),
    F.gelu: ("gelu", "GELU"), F.leaky_relu: ("leaky_relu", "LeakyReLU"), F.elu: ("elu", "ELU"),
    F.softmax: ("softmax", "Softmax"), torch.softmax: ("softmax", "Softmax"),
    F.log_softmax: ("softmax", "LogSoftmax"), torch.log_softmax: ("softmax", "LogSoftmax"),
    F.dropout: ("dropout", "Dropout"), F.dropout2d: ("dropout", "Dropout2d"),
    F.adaptive_avg_pool2d: ("adaptive_avg_pool2d", "AdaptiveAvgPool2d"),
    F.max_pool2d: ("max_pool2d", "MaxPool2d"), F.avg_pool2d: ("avg_pool2d", "AvgPool2d"),
    torch.mean: ("mean", "mean"),
}

METHODS: dict[str, tuple[str, str]] = {
    "add": ("add", "Add"), "add_": ("add", "Add"), "mul": ("mul", "Multiply"), "mul_": ("mul", "Multiply"),
    "flatten": ("flatten", "Flatten"),
    "view": ("reshape", "Reshape"), "reshape": ("reshape", "Reshape"), "squeeze": ("reshape", "Reshape"),
    "unsqueeze": ("reshape", "Reshape"), "unflatten": ("reshape", "Reshape"),
    "permute": ("permute", "Permute"), "transpose": ("transpose", "Transpose"), "swapaxes": ("transpose", "Transpose"),
    "relu": ("unary", "ReLU"), "relu_": ("unary", "ReLU"), "sigmoid": ("unary", "Sigmoid"), "tanh": ("unary", "Tanh"),
    "softmax": ("softmax", "Softmax"), "log_softmax": ("softmax", "LogSoftmax"),
    "mean": ("mean", "mean"),
}

ALIAS_METHODS = frozenset({"contiguous"})


def _bind(op: str, args: tuple, kwargs: dict) -> dict:
    names, defaults = SIGNATURES[op]
    if op in ("reshape", "permute") and len(args) > 1:
        return {"input": args[0], "rest": args[1:], **kwargs}
    return bind_args(names, defaults, args, kwargs)


def bind_args(names: tuple[str, ...], defaults: dict, args: tuple, kwargs: dict) -> dict:
    """A call's arguments by name (`names` in positional order); NotNative for any other."""
    if len(args) > len(names):
        raise NotNative
    bound = dict(defaults)
    bound.update(zip(names, args))
    for key, value in kwargs.items():
        if key not in names and key not in defaults:
            raise NotNative
        bound[key] = value
    if any(name not in bound for name in names):  # a required argument is missing
        raise NotNative
    return bound


def _map_op(op: str, layer: str, node: fx.Node, ctx: MapContext) -> Native | Alias:
    a = _bind(op, node.args, dict(node.kwargs))
    lit = ctx.literal
    if op in ("add", "mul"):
        if op == "add" and lit(a.get("alpha", 1)) != 1:
            raise NotNative
        return Native(layer, {}, [_tensor(ctx, a["input"]), _tensor(ctx, a["other"])])
    if op == "cat":
        tensors = a["tensors"]
        if isinstance(tensors, (list, tuple)) and len(tensors) == 1:
            return Alias(_tensor(ctx, tensors[0]))
        if not isinstance(tensors, (list, tuple)) or len(tensors) < 2:
            raise NotNative
        inputs = [_tensor(ctx, t) for t in tensors]
        return Native(layer, {"dim": lit(a["dim"])}, inputs)
    x = _tensor(ctx, a["input"])
    rank = len(ctx.shape(x)) + 1
    if op == "flatten":
        start, end = _dim(lit(a["start_dim"]), rank), lit(a["end_dim"])
        return Native("Flatten", {"start_dim": start, "end_dim": end}, [x])
    if op == "reshape":
        return Native("Reshape", {"shape": list(ctx.shape(node))}, [x])
    if op == "permute":
        dims = lit(a["rest"][0]) if len(a.get("rest", ())) == 1 else [lit(d) for d in a.get("rest", ())]
        dims = [d % rank for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
        if not dims or dims[0] != 0:
            raise NotNative
        return Native("Permute", {"dims": dims}, [x])
    if op == "transpose":
        return Native("Transpose", {"dim0": _dim(lit(a["dim0"]), rank), "dim1": _dim(lit(a["dim1"]), rank)}, [x])
    if op == "unary":
        return Native(layer, {}, [x])
    if op == "gelu":
        return Native("GELU", {"approximate": lit(a["approximate"])}, [x])
    if op == "leaky_relu":
        return Native("LeakyReLU", {"negative_slope": float(lit(a["negative_slope"]))}, [x])
    if op == "elu":
        return Native("ELU", {"alpha": float(lit(a["alpha"]))}, [x])
    if op == "softmax":
        if lit(a["dim"]) is None or lit(a["dtype"]) is not None:
            raise NotNative
        return Native(layer, {"dim": lit(a["dim"])}, [x])
    if op == "dropout":  # follows the model's train/eval mode, as the traced self.training did
        return Native(layer, {"p": float(lit(a["p"]))}, [x])
    if op == "adaptive_avg_pool2d":
        size = lit(a["output_size"])
        if size is None or (isinstance(size, (list, tuple)) and None in size):
            raise NotNative
        return Native(layer, {"output_size": _compact(size)}, [x])
    if op in ("max_pool2d", "avg_pool2d"):
        if lit(a.get("return_indices", False)):
            raise NotNative
        stride = lit(a["stride"])
        params = {
            "kernel_size": _compact(lit(a["kernel_size"])),
            "stride": _compact(stride) if stride not in (None, [], ()) else None,
            "padding": _compact(lit(a["padding"])),
        }
        if op == "max_pool2d":
            params["dilation"] = _compact(lit(a["dilation"]))
        else:
            params["count_include_pad"] = lit(a["count_include_pad"])
            params["divisor_override"] = lit(a["divisor_override"])
        params["ceil_mode"] = lit(a["ceil_mode"])
        return Native(layer, params, [x])
    if op == "mean":  # a mean over every position is global average pooling
        dims = lit(a["dim"])
        dims = sorted(d % rank for d in (dims if isinstance(dims, (list, tuple)) else [dims])) if dims is not None else None
        if lit(a["keepdim"]) or lit(a.get("dtype")) is not None:
            raise NotNative
        if rank in (3, 4) and dims == list(range(2, rank)):
            return Native("GlobalAvgPool", {}, [x])
        if rank == 3 and dims == [1]:
            return Native("SequencePool", {"mode": "mean"}, [x])
        raise NotNative
    raise NotNative


def map_native(node: fx.Node, ctx: MapContext):
    """A Native layer for this batched fx node, an Alias, or None."""
    from workbench.core import fx_calls, fx_modules  # the calls and modules issue 15 added; they build on this module

    return (fx_calls.map_before(node, ctx) or fx_modules.map_module(node, ctx) or _map_known(node, ctx)
            or fx_calls.map_after(node, ctx))


def _map_known(node: fx.Node, ctx: MapContext):
    try:
        if node.op == "call_module":
            module = ctx.module(node.target)
            if isinstance(module, nn.Identity) and len(node.args) == 1 and not node.kwargs:
                return Alias(_tensor(ctx, node.args[0]))
            mapper = MODULES.get(type(module))
            if mapper is None or len(node.args) != 1 or node.kwargs:
                return None
            layer, params = mapper(module, node, ctx)
            return Native(layer, params, [_tensor(ctx, node.args[0])], weights=node.target)
        if node.op == "call_function" and node.target is operator.getitem:
            source = node
            while source.op == "call_function" and source.target is operator.getitem:
                source = source.args[0]
            if source.op == "call_module" and isinstance(ctx.module(source.target), RECURRENT):
                return _recurrent(ctx.module(source.target), node, ctx)
            return None
        if node.op == "call_function":
            try:
                entry = FUNCTIONS.get(node.target)
            except TypeError:  # an unhashable target
                entry = None
            return _map_op(*entry, node, ctx) if entry else None
        if node.op == "call_method":
            if node.target in ALIAS_METHODS and len(node.args) == 1 and not node.kwargs:
                return Alias(_tensor(ctx, node.args[0]))
            entry = METHODS.get(node.target)
            return _map_op(*entry, node, ctx) if entry else None
    except NotNative:
        return None
    return None
