"""`FxModule`: the layer an imported model's unmapped pieces become.

When `workbench import` meets a call with no matching catalog layer (a torch function,
a Tensor method, a torch.nn module the catalog lacks, or a run of non-batched values
such as a tuple or a size computation), it writes one FxModule node holding that call
as JSON. The original is referenced by import path and constructor arguments, never
pickled, so the project stays data; a project file can only make an FxModule call, read
or build the entries of the reviewed allow-list in `fx_allowlist` (functions, Tensor
methods and attributes, torch.nn module classes, each with the argument kinds it takes).
Anything else is refused with a diagnostic before any of it runs.

Expression grammar (JSON), evaluated by `FxModule.forward`:

    1, 2.5, true, "text", null     literals          [a, b]                a list
    {"input": i}                   input port i      {"tuple": [a, b]}     a tuple
    {"tensor": name}               owned parameter or buffer
    {"slice": [a, b, c]}           a[a:b:c]          {"ellipsis": true}    ...
    {"dtype": "float32"}           torch.float32     {"float": "inf"}      inf, -inf, nan
    {"training": true}             self.training     {"memory_format": "channels_last"}
    {"attr": name, "of": a}        a.name, an allow-listed Tensor attribute (shape, dtype, ...)
    {"call": "module:name", "args": [...], "kwargs": {...}}     an allow-listed function
    {"method": name, "self": a, "args": [...], "kwargs": {...}} an allow-listed Tensor method
    {"module": name, "args": [...], "kwargs": {...}}            an owned torch.nn module
    {"select": [i, ...], "of": a}  a[i][...]
"""

from __future__ import annotations

import json
import math

import torch
from torch import nn

from workbench.core.fx_allowlist import (
    MAX_ELEMENTS,
    MODULE_CALL,
    Refused,
    allowed_attribute,
    allowed_constant,
    allowed_function,
    allowed_method,
    allowed_module,
    as_tuples,
    check_result,
    describe,
    is_number,
    kind_of,
    map_tensors,
    plain_json,
    tensors_in,
)
from workbench.core.catalog import Catalog, Constructor, LayerSpec, default_catalog
from workbench.core.jsonfile import parse_json
from workbench.core.params import STR, Param, ParamError
from workbench.core.tensors import INT, ShapeError, TensorInfo

__all__ = ["FX_MODULE", "FxModule", "ensure_registered"]


class FxModule(nn.Module):
    """Evaluates one call of an imported torch.fx graph, described as JSON.

    expr: the expression (see the grammar in the module docstring); modules: owned
    torch.nn modules {name: {"target": "torch.nn:Hardswish", "init": {...}}}; tensors:
    owned parameters and buffers {name: {"shape": [...], "dtype": "float32",
    "parameter": true, "value": optional flat list}}. Weights come from a checkpoint.
    Everything it calls, reads or builds comes from the allow-list (fx_allowlist), and it
    refuses anything else with `Refused` before running any of it.
    """

    TAGS = {  # tag -> the keys an expression with that tag may have
        "input": {"input"}, "tensor": {"tensor"}, "tuple": {"tuple"}, "slice": {"slice"},
        "ellipsis": {"ellipsis"}, "dtype": {"dtype"}, "float": {"float"}, "training": {"training"},
        "memory_format": {"memory_format"}, "attr": {"attr", "of"}, "call": {"call", "args", "kwargs"},
        "method": {"method", "self", "args", "kwargs"}, "module": {"module", "args", "kwargs"},
        "select": {"select", "of"},
    }
    MAX_DEPTH = 100

    def __init__(self, expr="null", modules="{}", tensors="{}"):
        super().__init__()
        self.expr = self._json(expr, object)
        self._builders = {}  # owned module name -> (class, kwargs), to rebuild one on the CPU
        budget = [0]  # elements owned so far
        for name, entry in self._json(modules, dict).items():
            self.add_module(self._owned_name(name), self._make_module(name, entry, budget))
        for name, entry in self._json(tensors, dict).items():
            self._make_tensor(self._owned_name(name), entry, budget)
        self._check(self.expr, 0)

    # ---- building what it owns -----------------------------------------------------------
    @staticmethod
    def _json(text, kind):
        import json  # here, so the class source stands alone in generated files

        try:
            value = json.loads(text)
        except (TypeError, ValueError, RecursionError) as exc:
            raise Refused(f"not valid JSON ({str(exc)[:80]})") from None
        if not isinstance(value, kind):
            raise Refused(f"expected a JSON {kind.__name__}, got {type(value).__name__}")
        return value

    def _owned_name(self, name):
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or hasattr(self, name):
            raise Refused(f"{str(name)[:80]!r} cannot name an owned module or tensor")
        return name

    @staticmethod
    def _count(budget, elements, name):
        budget[0] += elements
        if budget[0] > MAX_ELEMENTS:
            raise Refused(f"{name!r} takes FxModule past {MAX_ELEMENTS:.3g} owned elements")

    def _make_module(self, name, entry, budget):
        if not isinstance(entry, dict) or not set(entry) <= {"target", "init", "origin"}:
            raise Refused(f"module {name!r} must be {{target, init}}")
        target = entry.get("target")
        cls, allowed = allowed_module(target)
        init = entry.get("init", {})
        if not isinstance(init, dict):
            raise Refused(f"module {name!r}: init must be a JSON object")
        kwargs = {}
        for key, value in init.items():
            if key not in allowed:
                raise Refused(f"{target}: {str(key)[:40]!r} is not an argument FxModule passes to it")
            if not (plain_json(value) and allowed[key].accepts(value)):
                raise Refused(f"{target}: {key}={str(value)[:40]} is not a value it takes")
            kwargs[key] = as_tuples(value)
        try:
            with torch.device("meta"):  # counted before anything is allocated
                probe = cls(**kwargs)
        except Exception as exc:
            raise Refused(f"{target} cannot be built: {type(exc).__name__}: {str(exc)[:80]}") from None
        self._count(budget, sum(t.numel() for t in [*probe.parameters(), *probe.buffers()]), name)
        self._builders[name] = (cls, kwargs)
        return probe if torch.get_default_device().type == "meta" else cls(**kwargs)

    def _make_tensor(self, name, entry, budget):
        if not isinstance(entry, dict) or not set(entry) <= {"shape", "dtype", "parameter", "value", "origin"}:
            raise Refused(f"tensor {name!r} must be {{shape, dtype, parameter, value}}")
        shape = entry.get("shape")
        if not (isinstance(shape, list) and len(shape) <= 16 and all(type(d) is int and 0 <= d for d in shape)):
            raise Refused(f"tensor {name!r}: shape must be a list of at most 16 whole numbers >= 0")
        self._count(budget, math.prod(shape), name)
        dtype = allowed_constant(entry.get("dtype", "float32"), "dtype")
        parameter = entry.get("parameter", False)
        if type(parameter) is not bool:
            raise Refused(f"tensor {name!r}: parameter must be true or false")
        if "value" in entry:
            value = entry["value"]
            if not (isinstance(value, list) and len(value) == math.prod(shape) and all(is_number(v) for v in value)):
                raise Refused(f"tensor {name!r}: value must be a flat list of {math.prod(shape)} numbers")
            tensor = torch.tensor(value, dtype=dtype).reshape(shape)
        else:
            tensor = torch.zeros(shape, dtype=dtype)
        if parameter:
            self.register_parameter(name, nn.Parameter(tensor, requires_grad=dtype.is_floating_point))
        else:
            self.register_buffer(name, tensor)

    def _check(self, e, depth):
        """Resolve every reference now, so a bad one is refused before anything runs."""
        if depth > self.MAX_DEPTH:
            raise Refused(f"expression nested more than {self.MAX_DEPTH} levels deep")
        if isinstance(e, list):
            for item in e:
                self._check(item, depth + 1)
            return
        if not isinstance(e, dict):
            if kind_of(e) not in ("int", "float", "bool", "none", "str"):
                raise Refused(f"cannot read the value {str(e)[:80]}")
            return
        tags = [t for t in self.TAGS if t in e]
        if len(tags) != 1 or not set(e) <= self.TAGS[tags[0]]:
            raise Refused(f"cannot read expression {str(e)[:80]}")
        tag, arg = tags[0], e[tags[0]]
        children = [e[k] for k in ("args", "of", "self") if k in e]
        if tag == "input" and not (type(arg) is int and arg >= 0):
            raise Refused(f"input {str(arg)[:20]} is not a port number")
        elif tag == "tensor" and not (isinstance(arg, str) and (arg in self._parameters or arg in self._buffers)):
            raise Refused(f"no owned tensor {str(arg)[:80]!r}")
        elif tag == "module" and not (isinstance(arg, str) and arg in self._modules):
            raise Refused(f"no owned module {str(arg)[:80]!r}")
        elif tag == "call":
            allowed_function(arg)
        elif tag == "method":
            allowed_method(arg)
        elif tag == "attr":
            allowed_attribute(arg)
        elif tag in ("dtype", "memory_format"):
            allowed_constant(arg, tag)
        elif tag == "float" and arg not in ("inf", "-inf", "nan"):
            raise Refused(f"{str(arg)[:20]!r} is not inf, -inf or nan")
        elif tag == "select" and not (isinstance(arg, list) and all(type(i) is int for i in arg)):
            raise Refused("select takes a list of whole numbers")
        elif tag in ("tuple", "slice"):
            if not isinstance(arg, list) or (tag == "slice" and len(arg) > 3):
                raise Refused(f"cannot read expression {str(e)[:80]}")
            children.append(arg)
        if "kwargs" in e:
            children.append(self._keyed(e["kwargs"]))
        if "args" in e and not isinstance(e["args"], list):
            raise Refused(f"args must be a list in {str(e)[:80]}")
        for child in children:
            self._check(child, depth + 1)

    @staticmethod
    def _keyed(d):
        if not isinstance(d, dict) or not all(k.isidentifier() and not k.startswith("_") for k in d):
            raise Refused(f"keyword arguments must be named by identifiers: {str(d)[:80]}")
        return list(d.values())

    # ---- evaluation -----------------------------------------------------------------------
    def forward(self, *inputs):
        return self._value(self.expr, inputs)

    def _value(self, e, inputs):
        if isinstance(e, list):
            return [self._value(x, inputs) for x in e]
        if not isinstance(e, dict):
            return e
        v = lambda x: self._value(x, inputs)  # noqa: E731
        if "input" in e:
            if e["input"] >= len(inputs):
                raise Refused(f"input {e['input']} is not connected")
            return inputs[e["input"]]
        if "tensor" in e:
            return self._parameters.get(e["tensor"], self._buffers.get(e["tensor"]))
        if "tuple" in e:
            return tuple(v(x) for x in e["tuple"])
        if "slice" in e:
            return slice(*(v(x) for x in e["slice"]))
        if "ellipsis" in e:
            return Ellipsis
        if "dtype" in e or "memory_format" in e:
            tag = "dtype" if "dtype" in e else "memory_format"
            return allowed_constant(e[tag], tag)
        if "float" in e:
            return float(e["float"])
        if "training" in e:
            return self.training
        if "attr" in e:
            target = v(e["of"])
            if kind_of(target) != "tensor":
                raise Refused(f"attribute {e['attr']!r} read off a {type(target).__name__}, not a tensor")
            return check_result(allowed_attribute(e["attr"]).__get__(target), e["attr"])
        if "select" in e:
            out = v(e["of"])
            for i in e["select"]:
                if kind_of(out) not in ("tensor", "seq"):
                    raise Refused(f"cannot select from a {type(out).__name__}")
                out = out[i]
            return out
        args = [v(x) for x in e.get("args", [])]
        kwargs = {k: v(x) for k, x in e.get("kwargs", {}).items()}
        if "call" in e:
            fn, allowed = allowed_function(e["call"])
            return self._invoke(e["call"], fn, allowed, args, kwargs)
        if "method" in e:
            target = v(e["self"])
            fn, allowed = allowed_method(e["method"])
            if kind_of(target) != "tensor":
                raise Refused(f"method {e['method']!r} called on a {type(target).__name__}, not a tensor")
            return self._invoke(f"Tensor.{e['method']}", fn, allowed, [target, *args], kwargs)
        name = e["module"]
        return self._invoke(name, self._modules[name], MODULE_CALL, args, kwargs)

    def _invoke(self, what, fn, allowed, args, kwargs):
        for value in [*args, *kwargs.values()]:
            if not allowed.accepts(value):
                raise Refused(f"{what} does not take {describe(allowed.culprit(value))} as an argument")
        try:
            out = fn(*args, **kwargs)
        except (NotImplementedError, RuntimeError):
            if not any(t.is_meta for t in tensors_in([args, kwargs])):
                raise
            out = self._on_cpu(what, fn, args, kwargs)  # an op without a meta kernel
        return check_result(out, what)

    def _on_cpu(self, what, fn, args, kwargs):
        """Run one call for real on zeros of the same (already bounded) shapes, back to meta."""
        if isinstance(fn, nn.Module):
            cls, init = self._builders[what]
            with torch.device("cpu"):
                fn = cls(**init)
        real = map_tensors(lambda t: torch.zeros(t.shape, dtype=t.dtype, device="cpu") if t.is_meta else t, [args, kwargs])
        return map_tensors(lambda t: t.to("meta"), fn(*real[0], **real[1]))

    @classmethod
    def standalone_sources(cls) -> dict[str, str]:
        """Name -> source of this class and of the allow-list it runs on, so a generated file
        (codegen) refuses what this one refuses and needs nothing from this project."""
        import ast
        import inspect
        import textwrap

        from workbench.core import fx_allowlist

        text = inspect.getsource(fx_allowlist)
        lines = text.splitlines()
        out = {}
        for node in ast.parse(text).body:
            names = _defined_names(node)
            if names and names[0] not in ("annotations", "__all__"):  # not __future__, docstring or exports
                start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
                out.setdefault(names[0], "\n".join(lines[start - 1:node.end_lineno]))
        out[cls.__name__] = textwrap.dedent(inspect.getsource(cls))
        return out


def _defined_names(node) -> list[str]:
    import ast

    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


# ---- the LayerSpec -------------------------------------------------------------------


def _load_json(params: dict, name: str, kind: type):
    try:
        value = parse_json(params[name])
    except (TypeError, ValueError) as exc:
        raise ParamError(name, f"is not valid JSON ({exc})") from None
    if not isinstance(value, kind):
        raise ParamError(name, f"must be a JSON {'object' if kind is dict else 'value'}")
    return value


def _check(p: dict) -> None:
    _load_json(p, "expr", object)
    _load_json(p, "modules", dict)
    _load_json(p, "tensors", dict)


def _construct(inputs, p):
    return Constructor(FxModule, {"expr": p["expr"], "modules": p["modules"], "tensors": p["tensors"]})


def _infer(inputs, p):
    """Run the call on meta tensors; modules are built on meta first (an imported VGG's
    100M-weight Linear costs nothing there), on CPU when a module cannot be. Whatever the
    allow-list refuses is refused before anything runs, and becomes the node's diagnostic."""
    try:
        try:
            with torch.device("meta"):
                module = FxModule(p["expr"], p["modules"], p["tensors"])
        except Refused:
            raise
        except Exception:
            module = FxModule(p["expr"], p["modules"], p["tensors"]).to("meta")
        dtypes = {"float32": torch.float32, "int64": torch.int64}
        batch = 2
        tensors = [torch.empty(info.full(batch), dtype=dtypes[info.dtype], device="meta") for info in inputs]
        with torch.no_grad():
            out = module(*tensors)
    except Refused as exc:
        raise ShapeError(f"FxModule refused: {exc}") from None
    except Exception as exc:
        raise ShapeError(f"FxModule failed: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(out, torch.Tensor) or out.dim() == 0 or out.shape[0] != batch:
        raise ShapeError("FxModule must return one tensor whose first dimension is the batch")
    return [TensorInfo(tuple(int(d) for d in out.shape[1:]), INT if out.dtype == torch.int64 else "float32")]


FX_MODULE = LayerSpec(
    name="FxModule",
    category="imported",
    doc=(
        "Part of an imported PyTorch model with no matching layer: calls the original torch function, "
        "Tensor method or torch.nn module, referenced by import path (never pickled)."
    ),
    params=(
        Param("expr", STR, "null", "The call as JSON: what to call, with which inputs and constants"),
        Param("modules", STR, "{}", "torch.nn modules it owns, as JSON {name: {target, init}}"),
        Param("tensors", STR, "{}", "Parameters and buffers it owns, as JSON {name: {shape, dtype, parameter}}"),
        Param("origin", STR, "", "Where this came from in the imported model"),
    ),
    construct=_construct,
    infer=_infer,
    inputs=1,
    variadic=True,
    check=_check,
)


def ensure_registered(catalog: Catalog | None = None) -> None:
    """Add FxModule to the catalog (the default one when None) unless it is there."""
    catalog = catalog or default_catalog()
    if "FxModule" not in catalog:
        catalog.register(FX_MODULE)
