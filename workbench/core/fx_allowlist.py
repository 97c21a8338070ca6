"""What a project file may make an FxModule call: a reviewed allow-list, never a namespace.

`torch`, `operator` and friends hold aliases of `os`, importers that take a dotted name and
functions that call their arguments (DESIGN.md §9), so a file may name only the entries
below: functions ("module:name"), Tensor methods, Tensor attributes and torch.nn module
classes, each with the argument kinds it accepts. They are what `workbench import` emits for
the torchvision models in docs/import.md plus common pure tensor ops, each read before it
was added. References are resolved from this table's own strings (never from the file's),
and no value in an expression is ever a callable: only kinds named here pass.

Kinds: tensor, int, float, bool, none, dtype, device, memory_format, slice, ellipsis, str
(only the strings an entry lists, or its pattern) and seq (a list or tuple of accepted
values). docs/import.md lists every entry; a test keeps the two in step.
"""

from __future__ import annotations

import builtins
import importlib
import math
import operator
import re
from dataclasses import dataclass

import torch

__all__ = ["ATTRIBUTES", "DTYPES", "FUNCTIONS", "MAX_ELEMENTS", "MEMORY_FORMATS", "METHODS", "MODULES", "MODULE_CALL", "Args",
           "Refused", "allowed_attribute", "allowed_constant", "allowed_function", "allowed_method",
           "allowed_module", "allowed_reference", "as_tuples", "check_result", "describe", "is_number",
           "kind_of", "map_tensors", "plain_json", "tensors_in"]

MAX_ELEMENTS = 2**30  # per owned state and per value while inferring: 4 GiB of float32
_INT_RANGE = (-(2**63), 2**64 - 1)


class Refused(ValueError):
    """The file asks for something the allow-list does not hold; the message names it."""


@dataclass(frozen=True)
class Args:
    """The kinds of value an entry's arguments may be (see the module docstring)."""

    kinds: frozenset
    strings: frozenset = frozenset()
    pattern: str | None = None

    def accepts(self, value) -> bool:
        kind = kind_of(value)
        if kind == "seq":
            return "seq" in self.kinds and all(self.accepts(v) for v in value)
        if kind == "str":
            return value in self.strings or (self.pattern is not None and re.fullmatch(self.pattern, value) is not None)
        if kind == "slice":
            return "slice" in self.kinds and all(kind_of(v) in ("int", "none", "tensor") for v in _slice_parts(value))
        return kind is not None and kind in self.kinds

    def culprit(self, value):
        """The part of a refused value to name: the value, or the first item refused in it."""
        while kind_of(value) == "seq" and "seq" in self.kinds:
            value = next(v for v in value if not self.accepts(v))
        return value


def _args(kinds: str, *strings: str, pattern: str | None = None) -> Args:
    return Args(frozenset(kinds.split()), frozenset(strings), pattern)


def kind_of(value) -> str | None:
    """The kind of a value, or None for anything else (a callable, a module, a dict, ...)."""
    if isinstance(value, torch.Tensor):
        return "tensor"
    if value is None:
        return "none"
    if value is Ellipsis:
        return "ellipsis"
    if type(value) is bool:
        return "bool"
    if type(value) is int:
        return "int" if _INT_RANGE[0] <= value <= _INT_RANGE[1] else None
    if type(value) is float:
        return "float"
    if type(value) is str:
        return "str"
    if isinstance(value, (list, tuple)):  # torch.Size and torch.return_types are tuples
        return "seq"
    for kind, cls in (("dtype", torch.dtype), ("device", torch.device), ("memory_format", torch.memory_format)):
        if type(value) is cls:
            return kind
    if type(value) is slice:
        return "slice"
    return None


def _slice_parts(s: slice):
    return (s.start, s.stop, s.step)


def check_result(value, what: str):
    """`value` if it is data (no callable, no object) and, on meta, of a size a machine holds."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = kind_of(item)
        if kind is None:
            raise Refused(f"{what} returned a {type(item).__name__}, which FxModule does not pass on")
        if kind == "seq":
            stack.extend(item)
        elif kind == "slice":
            stack.extend(_slice_parts(item))
        elif kind == "tensor" and item.is_meta and item.numel() > MAX_ELEMENTS:
            raise Refused(f"{what} makes a tensor of {item.numel():.3g} elements (at most {MAX_ELEMENTS:.3g})")
    return value


def plain_json(value) -> bool:
    """A JSON literal: number, bool, null, string or a list of those (no tagged object)."""
    if isinstance(value, list):
        return all(plain_json(v) for v in value)
    return value is None or type(value) in (bool, int, float, str)


def is_number(value) -> bool:
    return type(value) in (bool, int, float)


def as_tuples(value):
    """JSON lists as the tuples torch.nn constructors store (kernel_size=[3, 3] -> (3, 3))."""
    return tuple(as_tuples(v) for v in value) if isinstance(value, list) else value


def describe(value) -> str:
    kind = kind_of(value)
    return f"the string {value[:40]!r}" if kind == "str" else f"a {kind or type(value).__name__}"


def tensors_in(tree) -> list:
    if isinstance(tree, (list, tuple)):
        return [t for item in tree for t in tensors_in(item)]
    if isinstance(tree, dict):
        return tensors_in(list(tree.values()))
    return [tree] if isinstance(tree, torch.Tensor) else []


def map_tensors(fn, tree):
    if isinstance(tree, (list, tuple)) and type(tree) in (list, tuple):
        return type(tree)(map_tensors(fn, item) for item in tree)
    if isinstance(tree, dict):
        return {k: map_tensors(fn, v) for k, v in tree.items()}
    return fn(tree) if isinstance(tree, torch.Tensor) else tree


# ---- argument kinds used by the table ------------------------------------------------------------

NUM = _args("tensor int float bool none")  # pointwise arithmetic
DIMS = _args("tensor int bool none seq")  # shapes, dims, keepdim
REDUCE = _args("tensor int bool none seq dtype")
FLOATS = _args("tensor int float bool none seq")
CAST = _args("tensor int float bool none dtype device memory_format")
INDEX = _args("tensor int bool none seq slice ellipsis")
INT, BOOL, FLOAT = _args("int"), _args("bool"), _args("float int")
INTS = _args("int seq")
OPT_INT, OPT_FLOAT, OPT_INTS = _args("int none"), _args("float int none"), _args("int none seq")
MEMORY = _args("tensor memory_format")
PADDING = _args("int seq", "same", "valid")
PADDING_MODE = _args("str", "zeros", "reflect", "replicate", "circular")
MODULE_CALL = _args("tensor int float bool none seq")  # arguments of an owned module
INTERPOLATION = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")

# ---- the table -------------------------------------------------------------------------------------

EINSUM = _args("tensor str seq", pattern=r"[A-Za-z.,\- >]{1,200}")  # subscripts only: letters , -> ...
GELU_APPROX = ("none", "tanh")
PAD_MODES = ("constant", "reflect", "replicate", "circular")
TORCHVISION = _args("tensor int float bool none seq", "row", "batch")

FUNCTIONS: dict[str, Args] = {
    # emitted by `workbench import` for the torchvision models in docs/import.md
    "operator:getitem": INDEX,
    "operator:add": FLOATS,  # also joins shape tuples: x.shape[:2] + (4,)
    "operator:mul": NUM,  # never a sequence: [0] * 2**40 would fill memory
    "torch:chunk": DIMS,
    "torch.functional:einsum": EINSUM,
    "torch.nn.functional:layer_norm": FLOATS,
    "torchvision.ops.stochastic_depth:stochastic_depth": TORCHVISION,
    "torchvision.models.swin_transformer:shifted_window_attention": TORCHVISION,
    "torchvision.models.swin_transformer:_get_relative_position_bias": TORCHVISION,
    "torchvision.models.swin_transformer:_patch_merging_pad": TORCHVISION,
    # reviewed additions: pure tensor ops, shape arithmetic on bounded ints
    "operator:sub": NUM, "operator:truediv": NUM, "operator:floordiv": NUM, "operator:mod": NUM,
    "operator:neg": NUM, "operator:matmul": NUM, "operator:eq": NUM, "operator:ne": NUM, "operator:lt": NUM,
    "operator:le": NUM, "operator:gt": NUM, "operator:ge": NUM,
    "torch:einsum": EINSUM,
    "torch:cat": DIMS, "torch:stack": DIMS, "torch:split": DIMS, "torch:unbind": DIMS, "torch:flatten": DIMS,
    "torch:reshape": DIMS, "torch:permute": DIMS, "torch:transpose": DIMS, "torch:squeeze": DIMS,
    "torch:unsqueeze": DIMS, "torch:narrow": DIMS, "torch:roll": DIMS, "torch:flip": DIMS,
    "torch:gather": DIMS, "torch:index_select": DIMS, "torch:topk": DIMS, "torch:argmax": DIMS, "torch:argmin": DIMS,
    "torch:add": NUM, "torch:sub": NUM, "torch:mul": NUM, "torch:div": NUM, "torch:pow": NUM,
    "torch:matmul": NUM, "torch:bmm": NUM, "torch:mm": NUM, "torch:where": NUM, "torch:masked_fill": NUM,
    "torch:clamp": NUM, "torch:maximum": NUM, "torch:minimum": NUM,
    "torch:relu": NUM, "torch:sigmoid": NUM, "torch:tanh": NUM, "torch:exp": NUM, "torch:log": NUM,
    "torch:sqrt": NUM, "torch:rsqrt": NUM, "torch:abs": NUM, "torch:neg": NUM, "torch:erf": NUM,
    "torch:sin": NUM, "torch:cos": NUM,
    "torch:mean": REDUCE, "torch:sum": REDUCE, "torch:amax": REDUCE, "torch:amin": REDUCE, "torch:softmax": REDUCE,
    "torch:log_softmax": REDUCE, "torch:cumsum": REDUCE, "torch:zeros_like": CAST, "torch:ones_like": CAST,
    "torch.nn.functional:relu": NUM, "torch.nn.functional:relu6": NUM, "torch.nn.functional:silu": NUM,
    "torch.nn.functional:mish": NUM, "torch.nn.functional:hardswish": NUM, "torch.nn.functional:hardsigmoid": NUM,
    "torch.nn.functional:sigmoid": NUM, "torch.nn.functional:tanh": NUM, "torch.nn.functional:leaky_relu": NUM,
    "torch.nn.functional:elu": NUM, "torch.nn.functional:gelu": _args("tensor", *GELU_APPROX),
    "torch.nn.functional:softmax": REDUCE, "torch.nn.functional:log_softmax": REDUCE,
    "torch.nn.functional:dropout": NUM, "torch.nn.functional:dropout1d": NUM, "torch.nn.functional:dropout2d": NUM,
    "torch.nn.functional:linear": NUM, "torch.nn.functional:group_norm": FLOATS,
    "torch.nn.functional:batch_norm": NUM, "torch.nn.functional:normalize": FLOATS,
    "torch.nn.functional:conv1d": FLOATS, "torch.nn.functional:conv2d": _args("tensor int none seq", "same", "valid"),
    "torch.nn.functional:max_pool2d": DIMS, "torch.nn.functional:avg_pool2d": DIMS,
    "torch.nn.functional:adaptive_avg_pool1d": DIMS, "torch.nn.functional:adaptive_avg_pool2d": DIMS,
    "torch.nn.functional:adaptive_max_pool2d": DIMS,
    "torch.nn.functional:pad": _args("tensor int float none seq", *PAD_MODES),
    "torch.nn.functional:interpolate": _args("tensor int float bool none seq", *INTERPOLATION),
    "torch.nn.functional:scaled_dot_product_attention": NUM,
    "torch.nn.functional:pixel_shuffle": DIMS, "torch.nn.functional:pixel_unshuffle": DIMS,
    "torchvision.ops.drop_block:drop_block2d": TORCHVISION, "torchvision.ops.drop_block:drop_block3d": TORCHVISION,
    "math:sqrt": FLOAT, "math:floor": FLOAT, "math:ceil": FLOAT, "math:log": FLOAT, "math:log2": FLOAT,
    "builtins:len": _args("tensor seq"), "builtins:int": NUM, "builtins:float": NUM, "builtins:bool": NUM,
    "builtins:abs": NUM, "builtins:min": FLOATS, "builtins:max": FLOATS,
}

METHODS: dict[str, Args] = {
    # emitted
    "chunk": DIMS, "expand": DIMS, "unsqueeze": DIMS, "contiguous": MEMORY, "permute": DIMS, "view": DIMS,
    # reviewed additions
    "reshape": DIMS, "flatten": DIMS, "unflatten": DIMS, "transpose": DIMS, "swapaxes": DIMS, "squeeze": DIMS,
    "expand_as": DIMS, "view_as": DIMS, "reshape_as": DIMS, "split": DIMS, "unbind": DIMS, "narrow": DIMS,
    "flip": DIMS, "roll": DIMS, "repeat": DIMS, "gather": DIMS, "index_select": DIMS, "t": DIMS, "size": DIMS,
    "dim": DIMS, "numel": DIMS, "topk": DIMS, "argmax": DIMS, "argmin": DIMS,
    "mean": REDUCE, "sum": REDUCE, "amax": REDUCE, "amin": REDUCE, "softmax": REDUCE, "log_softmax": REDUCE,
    "cumsum": REDUCE, "std": REDUCE, "var": REDUCE, "norm": FLOATS,
    "add": NUM, "sub": NUM, "mul": NUM, "div": NUM, "pow": NUM, "matmul": NUM, "bmm": NUM, "clamp": NUM,
    "masked_fill": NUM, "relu": NUM, "sigmoid": NUM, "tanh": NUM, "exp": NUM, "log": NUM, "sqrt": NUM,
    "rsqrt": NUM, "abs": NUM, "neg": NUM, "clone": CAST, "detach": NUM,
    "add_": NUM, "sub_": NUM, "mul_": NUM, "div_": NUM, "relu_": NUM, "clamp_": NUM, "sigmoid_": NUM,
    "to": CAST, "type_as": CAST, "float": CAST, "half": CAST, "int": CAST, "long": CAST, "bool": CAST,
}

ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "T", "mT", "is_cuda", "data", "requires_grad"})

_ACTIVATION = {"inplace": BOOL}
_NORM = {"eps": FLOAT, "momentum": OPT_FLOAT, "affine": BOOL, "track_running_stats": BOOL, "bias": BOOL,
         "num_features": INT}
_CONV = {"in_channels": INT, "out_channels": INT, "kernel_size": INTS, "stride": INTS, "padding": PADDING,
         "dilation": INTS, "groups": INT, "bias": BOOL, "padding_mode": PADDING_MODE}
_POOL = {"kernel_size": INTS, "stride": OPT_INTS, "padding": INTS, "dilation": INTS, "return_indices": BOOL,
         "ceil_mode": BOOL, "count_include_pad": BOOL, "divisor_override": OPT_INT}
_RNN = {"input_size": INT, "hidden_size": INT, "num_layers": INT, "bias": BOOL, "batch_first": BOOL,
        "dropout": FLOAT, "bidirectional": BOOL, "proj_size": INT}

MODULES: dict[str, dict[str, Args]] = {
    # emitted
    "torch.nn:ReLU6": _ACTIVATION, "torch.nn:Hardswish": _ACTIVATION, "torch.nn:Hardsigmoid": _ACTIVATION,
    "torch.nn:Linear": {"in_features": INT, "out_features": INT, "bias": BOOL},
    "torch.nn:MultiheadAttention": {"embed_dim": INT, "num_heads": INT, "dropout": FLOAT, "bias": BOOL,
                                    "add_bias_kv": BOOL, "add_zero_attn": BOOL, "kdim": OPT_INT, "vdim": OPT_INT,
                                    "batch_first": BOOL},
    # reviewed additions (the catalog's layers, when its shape rules do not fit the traced use)
    "torch.nn:ReLU": _ACTIVATION, "torch.nn:SiLU": _ACTIVATION, "torch.nn:Mish": _ACTIVATION,
    "torch.nn:Sigmoid": {}, "torch.nn:Tanh": {}, "torch.nn:Identity": {},
    "torch.nn:GELU": {"approximate": _args("str", *GELU_APPROX)},
    "torch.nn:LeakyReLU": {"negative_slope": FLOAT, "inplace": BOOL},
    "torch.nn:ELU": {"alpha": FLOAT, "inplace": BOOL},
    "torch.nn:Hardtanh": {"min_val": FLOAT, "max_val": FLOAT, "inplace": BOOL},
    "torch.nn:Softmax": {"dim": OPT_INT}, "torch.nn:LogSoftmax": {"dim": OPT_INT},
    "torch.nn:Dropout": {"p": FLOAT, "inplace": BOOL}, "torch.nn:Dropout2d": {"p": FLOAT, "inplace": BOOL},
    "torch.nn:LayerNorm": {"normalized_shape": INTS, "eps": FLOAT, "elementwise_affine": BOOL, "bias": BOOL},
    "torch.nn:GroupNorm": {"num_groups": INT, "num_channels": INT, "eps": FLOAT, "affine": BOOL, "bias": BOOL},
    "torch.nn:BatchNorm1d": _NORM, "torch.nn:BatchNorm2d": _NORM,
    "torch.nn:Conv1d": _CONV, "torch.nn:Conv2d": _CONV,
    "torch.nn:MaxPool1d": _POOL, "torch.nn:MaxPool2d": _POOL, "torch.nn:AvgPool1d": _POOL, "torch.nn:AvgPool2d": _POOL,
    "torch.nn:AdaptiveAvgPool1d": {"output_size": OPT_INTS}, "torch.nn:AdaptiveAvgPool2d": {"output_size": OPT_INTS},
    "torch.nn:Flatten": {"start_dim": INT, "end_dim": INT},
    "torch.nn:Embedding": {"num_embeddings": INT, "embedding_dim": INT, "padding_idx": OPT_INT, "max_norm": OPT_FLOAT,
                           "norm_type": FLOAT, "scale_grad_by_freq": BOOL, "sparse": BOOL},
    "torch.nn:LSTM": _RNN, "torch.nn:GRU": _RNN,
    "torch.nn:RNN": {**_RNN, "nonlinearity": _args("str", "tanh", "relu")},
}

DTYPES = frozenset({"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"})
MEMORY_FORMATS = frozenset({"contiguous_format", "channels_last", "channels_last_3d", "preserve_format"})

# ---- resolving table entries ------------------------------------------------------------------------

_resolved: dict[str, object] = {}


def _target(ref: str):
    """A table entry's object, resolved once from the table's own string."""
    if ref not in _resolved:
        where, _, name = ref.partition(":")
        module = builtins if where == "builtins" else importlib.import_module(where)
        _resolved[ref] = getattr(module, name)
    return _resolved[ref]


def allowed_function(ref) -> tuple[object, Args]:
    if type(ref) is not str or ref not in FUNCTIONS:
        raise Refused(f"{str(ref)[:80]!r} is not a function FxModule may call (see the allow-list in docs/import.md)")
    return _target(ref), FUNCTIONS[ref]


def allowed_method(name) -> tuple[object, Args]:
    """The unbound torch.Tensor method, so a value cannot supply its own."""
    if type(name) is not str or name not in METHODS:
        raise Refused(f"method {str(name)[:80]!r} is not one FxModule calls (see the allow-list in docs/import.md)")
    return getattr(torch.Tensor, name), METHODS[name]


def allowed_attribute(name):
    if type(name) is not str or name not in ATTRIBUTES:
        raise Refused(f"attribute {str(name)[:80]!r} is not one FxModule reads (see the allow-list in docs/import.md)")
    return getattr(torch.Tensor, name)


def allowed_module(ref) -> tuple[type, dict[str, Args]]:
    if type(ref) is not str or ref not in MODULES:
        raise Refused(f"{str(ref)[:80]!r} is not a torch.nn module FxModule may own (see the allow-list in docs/import.md)")
    return _target(ref), MODULES[ref]


def allowed_constant(name, kind: str):
    """A dtype or memory format by its name in the table."""
    names = DTYPES if kind == "dtype" else MEMORY_FORMATS
    if type(name) is not str or name not in names:
        raise Refused(f"{str(name)[:80]!r} is not a {kind} FxModule knows")
    return getattr(torch, name)


def allowed_reference(fn) -> str | None:
    """The table entry under which FxModule finds this function or class, or None."""
    for ref in [*FUNCTIONS, *MODULES]:
        try:
            if _target(ref) is fn:
                return ref
        except ImportError:  # torchvision is optional
            continue
    return None
