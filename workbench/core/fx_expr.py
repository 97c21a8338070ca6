"""What each value of a traced model is, and how an FxModule re-creates it as JSON.

`classify` runs the traced module at two batch sizes and sorts every fx node's value:
BATCHED (a tensor whose first dimension is the batch: it can travel on a graph edge),
LITERAL (the same plain constant both times, e.g. a channel count read off a shape: it
is folded in), or INLINE (anything else: a parameter, a tuple of tensors, a size that
depends on the batch, a tensor that is not batch-first). INLINE values never become
nodes; `ExprBuilder` writes them into the expression of each FxModule that uses them.
"""

from __future__ import annotations

import builtins
import inspect
import math
import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from workbench.core.fx_allowlist import ATTRIBUTES, Refused, allowed_reference
from workbench.core.fx_module import FxModule

__all__ = ["BATCHED", "INLINE", "LITERAL", "ExprBuilder", "TensorSummary", "Unsupported", "classify", "encode"]

BATCHED, LITERAL, INLINE = "batched", "literal", "inline"
INLINE_VALUE_LIMIT = 4096  # small buffers are written into the project, so it works without weights


class Unsupported(Exception):
    """Part of the model cannot be described; the message says which and why."""


@dataclass(frozen=True)
class TensorSummary:
    shape: tuple[int, ...]
    dtype: torch.dtype


def _summary(value):
    if isinstance(value, torch.Tensor):
        return TensorSummary(tuple(value.shape), value.dtype)
    if isinstance(value, (tuple, list)):
        items = [_summary(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {k: _summary(v) for k, v in value.items()}
    return value


def record(gm: fx.GraphModule, inputs) -> dict[fx.Node, object]:
    """Every node's value (tensors summarised) for one run of the traced module."""
    values: dict[fx.Node, object] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            values[n] = _summary(out)
            return out

    with torch.no_grad():
        Recorder(gm).run(*inputs)
    return values


def _has_tensor(value) -> bool:
    if isinstance(value, TensorSummary):
        return True
    if isinstance(value, (tuple, list)):
        return any(_has_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tensor(v) for v in value.values())
    return False


def classify(small: dict, large: dict, batches: tuple[int, int]) -> dict[fx.Node, str]:
    kinds = {}
    b1, b2 = batches
    for node, a in small.items():
        b = large.get(node)
        if (
            isinstance(a, TensorSummary)
            and isinstance(b, TensorSummary)
            and len(a.shape) >= 1
            and (a.shape[0], b.shape[0]) == (b1, b2)
            and a.shape[1:] == b.shape[1:]
        ):
            kinds[node] = BATCHED
        elif node.op != "get_attr" and a == b and not _has_tensor(a) and _encodable(a):
            kinds[node] = LITERAL
        else:
            kinds[node] = INLINE
    return kinds


def _encodable(value) -> bool:
    try:
        encode(value)
    except Unsupported:
        return False
    return True


def encode(value):
    """A constant as FxModule JSON."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, slice):
        return {"slice": [encode(value.start), encode(value.stop), encode(value.step)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if isinstance(value, torch.memory_format):
        return {"memory_format": str(value).removeprefix("torch.")}
    raise Unsupported(f"cannot describe the constant {value!r} ({type(value).__name__})")


def reference(fn) -> str:
    """'module:name' under which FxModule finds this function or class: its allow-list entry."""
    ref = allowed_reference(fn)
    if ref is None:
        where = f"{getattr(fn, '__module__', None) or '?'}.{getattr(fn, '__qualname__', None) or repr(fn)[:60]}"
        raise Unsupported(f"{where} is not on the FxModule allow-list (docs/import.md)")
    return ref


_TRAINING_FLAG_FUNCTIONS = {F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout}


def _training_position(fn) -> int | None:
    """Where `training` goes in a function whose behaviour follows the module's mode."""
    name = getattr(fn, "__name__", "")
    if fn not in _TRAINING_FLAG_FUNCTIONS and name not in ("stochastic_depth", "drop_block2d", "drop_block3d"):
        return None
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    return names.index("training") if "training" in names else None


_SPECIAL_INIT = {
    "bias": lambda m: (m.bias is not None) if hasattr(m, "bias") else getattr(m, "in_proj_bias", None) is not None,
    "add_bias_kv": lambda m: getattr(m, "bias_k", None) is not None,
}


def constructor_args(module: nn.Module) -> tuple[str, dict]:
    """(reference, init kwargs) that rebuild this torch.nn module, checked by rebuilding it."""
    cls = type(module)
    ref = reference(cls)
    init = {}
    signature = inspect.signature(nn.RNNBase.__init__ if issubclass(cls, nn.RNNBase) else cls.__init__)
    parameters = [(k, p) for k, p in list(signature.parameters.items())[1:] if k != "mode"]
    if isinstance(module, nn.RNN):
        parameters.append(("nonlinearity", inspect.Parameter("nonlinearity", inspect.Parameter.KEYWORD_ONLY, default="tanh")))
    for name, p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name in ("device", "dtype"):
            continue
        if name in _SPECIAL_INIT and isinstance(p.default, bool):
            value = _SPECIAL_INIT[name](module)
        elif hasattr(module, name) and not isinstance(getattr(module, name), (torch.Tensor, nn.Module)):
            value = getattr(module, name)
        elif p.default is not p.empty:
            continue
        else:
            raise Unsupported(f"cannot read {cls.__name__}'s constructor argument {name!r} off the module")
        init[name] = _plain(value)
    try:
        rebuilt = FxModule("null", _json({"m": {"target": ref, "init": init}}), "{}").m
    except Refused as exc:
        raise Unsupported(str(exc)) from None
    if repr(rebuilt) != repr(module) or _plain_state(rebuilt) != _plain_state(module):
        raise Unsupported(f"cannot rebuild {cls.__name__} from its attributes ({repr(module)[:80]})")
    return ref, init


def _plain(value):
    """A constructor argument as a plain JSON literal (tuples as lists), as FxModule takes them."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if value is None or type(value) in (bool, int, str) or (type(value) is float and math.isfinite(value)):
        return value
    raise Unsupported(f"cannot write the constructor argument {value!r} as plain JSON")


def _plain_state(module: nn.Module):
    plain = {
        k: v for k, v in vars(module).items()
        if not k.startswith("_") and k != "training" and isinstance(v, (bool, int, float, str, tuple, type(None)))
    }
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    return plain, shapes


def _json(value) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


class ExprBuilder:
    """Writes one FxModule: its expression, its owned modules and tensors, its input ports."""

    def __init__(self, gm: fx.GraphModule, kinds: dict, values: dict, source_of) -> None:
        self.gm, self.kinds, self.values, self.source_of = gm, kinds, values, source_of
        self.ports: list[str] = []  # graph node ids feeding the FxModule, in port order
        self.modules: dict[str, dict] = {}
        self.tensors: dict[str, dict] = {}
        self.moves: list[tuple[str, str]] = []  # (name inside the FxModule, path in the original)
        self._names: dict[str, str] = {}

    def params(self, root: fx.Node) -> dict:
        expr = self.node(root)
        return {
            "expr": _json(expr),
            "modules": _json(self.modules),
            "tensors": _json(self.tensors),
            "origin": describe(root, self.gm),
        }

    def arg(self, a):
        if isinstance(a, fx.Node):
            kind = self.kinds.get(a, INLINE)
            if kind == BATCHED:
                source = self.source_of(a)
                if source not in self.ports:
                    self.ports.append(source)
                return {"input": self.ports.index(source)}
            if kind == LITERAL:
                return encode(self.values[a])
            return self.node(a)
        if isinstance(a, tuple):
            return {"tuple": [self.arg(v) for v in a]}
        if isinstance(a, list):
            return [self.arg(v) for v in a]
        if isinstance(a, slice):
            return {"slice": [self.arg(a.start), self.arg(a.stop), self.arg(a.step)]}
        return encode(a)

    def _call_args(self, n: fx.Node, skip: int = 0) -> dict:
        parts = {}
        if len(n.args) > skip:
            parts["args"] = [self.arg(a) for a in n.args[skip:]]
        if n.kwargs:
            parts["kwargs"] = {k: self.arg(v) for k, v in n.kwargs.items()}
        return parts

    def node(self, n: fx.Node):
        if n.op == "get_attr":
            return {"tensor": self._own_tensor(n.target)}
        if n.op == "placeholder":  # an optional forward argument left at its default
            return encode(n.args[0] if n.args else None)
        if n.op == "call_module":
            return {"module": self._own_module(n.target), **self._call_args(n)}
        if n.op == "call_method":
            return {"method": n.target, "self": self.arg(n.args[0]), **self._call_args(n, 1)}
        if n.op == "call_function":
            if n.target is builtins.getattr and len(n.args) == 2 and isinstance(n.args[1], str) and not n.kwargs:
                if n.args[1] not in ATTRIBUTES:
                    raise Unsupported(f"{n.name} reads the attribute {n.args[1]!r}, which FxModule does not")
                return {"attr": n.args[1], "of": self.arg(n.args[0])}
            call = {"call": reference(n.target), **self._call_args(n)}
            position = _training_position(n.target)
            if position is not None:  # follow the model's train/eval mode, not the mode it was traced in
                if "training" in n.kwargs:
                    call["kwargs"]["training"] = {"training": True}
                elif position < len(n.args):
                    call["args"][position] = {"training": True}
            return call
        raise Unsupported(f"cannot describe fx node {n.name} ({n.op})")

    def _unique(self, stem: str) -> str:
        base = "".join(c if c.isalnum() else "_" for c in stem).strip("_").lower() or "x"
        if not base[0].isalpha():
            base = "m_" + base
        name, i = base, 1
        while name in self._names or hasattr(FxModule, name) or name in ("expr", "_builders"):
            i += 1
            name = f"{base}_{i}"
        return name

    def _own_module(self, target: str) -> str:
        key = "module:" + target
        if key not in self._names:
            module = self.gm.get_submodule(target)
            ref, init = constructor_args(module)
            last = target.rsplit(".", 1)[-1]
            name = self._unique(last if last.isidentifier() else type(module).__name__)
            self._names[key] = name
            self._names[name] = key
            self.modules[name] = {"target": ref, "init": init, "origin": target}
            self.moves.append((name, target))
        return self._names[key]

    def _own_tensor(self, target: str) -> str:
        key = "tensor:" + target
        if key not in self._names:
            value = operator.attrgetter(target)(self.gm)
            if not isinstance(value, torch.Tensor):
                raise Unsupported(f"attribute {target} is a {type(value).__name__}, not a tensor")
            name = self._unique(target.rsplit(".", 1)[-1])
            self._names[key] = name
            self._names[name] = key
            entry = {"shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch.")}
            if isinstance(value, nn.Parameter):
                entry["parameter"] = True
            elif value.numel() <= INLINE_VALUE_LIMIT and (not value.is_floating_point() or bool(value.isfinite().all())):
                entry["value"] = value.flatten().tolist()
            entry["origin"] = target
            self.tensors[name] = entry
            self.moves.append((name, target))
        return self._names[key]


def describe(n: fx.Node, gm: fx.GraphModule) -> str:
    """What an fx node calls, for reports: 'torch.nn.Hardswish features.0.2', or for one
    item of a call's tuple result 'torch.nn.MultiheadAttention encoder.attn [0]'."""
    if (n.op == "call_function" and n.target is operator.getitem and isinstance(n.args[0], fx.Node)
            and isinstance(n.args[1], int) and n.args[0].op != "placeholder"):
        inner = describe(n.args[0], gm)
        return f"{inner}[{n.args[1]}]" if inner.endswith("]") else f"{inner} [{n.args[1]}]"
    if n.op == "call_module":
        cls = type(gm.get_submodule(n.target))
        return f"{cls.__module__.split('.modules')[0]}.{cls.__name__} {n.target}"
    if n.op == "call_method":
        return f"Tensor.{n.target}"
    if n.op == "call_function":
        try:
            return reference(n.target).replace(":", ".")
        except Unsupported:
            return str(n.target)
    return n.op
