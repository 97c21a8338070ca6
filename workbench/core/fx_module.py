"""`FxModule`: the layer an imported model's unmapped pieces become.

When `workbench import` meets a call with no matching catalog layer (a torch function,
a Tensor method, a torch.nn module the catalog lacks, or a run of non-batched values
such as a tuple or a size computation), it writes one FxModule node holding that call
as JSON. The original is referenced by import path and constructor arguments, never
pickled, so the project stays data; a project file can only make an FxModule call the
allow-listed targets in `FxModule` (torch, torch.nn.functional, operator, math, Tensor
methods, torch.nn modules, and functions registered with `torch.fx.wrap` in torchvision
or torchaudio). Anything else is refused with a diagnostic before it runs.

Expression grammar (JSON), evaluated by `FxModule.forward`:

    1, 2.5, true, "text", null     literals          [a, b]                a list
    {"input": i}                   input port i      {"tuple": [a, b]}     a tuple
    {"tensor": name}               owned parameter   {"dict": {k: a}}      a dict
    {"slice": [a, b, c]}           a[a:b:c]          {"ellipsis": true}    ...
    {"dtype": "float32"}           torch.float32     {"float": "inf"}      inf, -inf, nan
    {"training": true}             self.training     {"memory_format": "channels_last"}
    {"attr": name, "of": a}        a.name (shape, dtype, device, ndim, ...)
    {"call": "module:name", "args": [...], "kwargs": {...}}     an allow-listed function
    {"method": name, "self": a, "args": [...], "kwargs": {...}} a method of a tensor / size
    {"module": name, "args": [...], "kwargs": {...}}            an owned torch.nn module
    {"select": [i, ...], "of": a}  a[i][...]
"""

from __future__ import annotations

import json

import torch
from torch import nn

from workbench.core.catalog import Catalog, Constructor, LayerSpec, default_catalog
from workbench.core.params import STR, Param, ParamError
from workbench.core.tensors import INT, ShapeError, TensorInfo

__all__ = ["FX_MODULE", "FxModule", "ensure_registered"]


class FxModule(nn.Module):
    """Evaluates one call of an imported torch.fx graph, described as JSON.

    expr: the expression (see the grammar in the module docstring); modules: owned
    torch.nn modules {name: {"target": "torch.nn:Hardswish", "init": {...}}}; tensors:
    owned parameters and buffers {name: {"shape": [...], "dtype": "float32",
    "parameter": true, "value": optional nested list}}. Weights come from a checkpoint.
    """

    FUNCTION_MODULES = (
        "torch", "torch.nn.functional", "torch.functional", "torch._C._nn", "torch.fft",
        "torch.linalg", "torch.special", "operator", "math",
    )
    WRAPPED_PACKAGES = ("torchvision", "torchaudio")  # functions registered with torch.fx.wrap
    BLOCKED = frozenset({
        "load", "save", "from_file", "compile", "manual_seed", "seed", "initial_seed", "attrgetter",
        "itemgetter", "methodcaller", "call", "use_deterministic_algorithms", "get_file_path", "cond", "vmap",
        "while_loop",
    })
    BUILTINS = frozenset({"len", "int", "float", "bool", "min", "max", "abs", "round", "sum", "tuple", "list", "range", "slice"})
    ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "T", "mT", "H", "mH", "real", "imag", "is_cuda", "data"})
    BLOCKED_METHODS = frozenset({
        "storage", "untyped_storage", "apply_", "map_", "map2_", "register_hook", "backward",
        "register_post_accumulate_grad_hook", "share_memory_", "numpy", "tolist", "pin_memory",
    })
    TAGS = ("input", "tensor", "tuple", "dict", "slice", "ellipsis", "dtype", "float", "training",
            "memory_format", "attr", "call", "method", "module", "select")

    def __init__(self, expr="null", modules="{}", tensors="{}"):
        super().__init__()
        import json

        self.expr = json.loads(expr)
        self._functions = {}
        for name, entry in json.loads(modules).items():
            self.add_module(name, self._make_module(entry["target"], entry.get("init", {})))
        for name, entry in json.loads(tensors).items():
            dtype = getattr(torch, entry.get("dtype", "float32"))
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"tensor {name!r}: unknown dtype {entry.get('dtype')!r}")
            if "value" in entry:
                value = torch.tensor(entry["value"], dtype=dtype).reshape(entry["shape"])
            else:
                value = torch.zeros(entry["shape"], dtype=dtype)
            if entry.get("parameter", False):
                self.register_parameter(name, nn.Parameter(value, requires_grad=dtype.is_floating_point))
            else:
                self.register_buffer(name, value)
        self._check(self.expr)

    # ---- resolving references -------------------------------------------------------
    def _import(self, ref):
        import importlib

        module_name, _, name = str(ref).partition(":")
        if not name or not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"{ref!r} is not a reference of the form 'package.module:name'")
        return importlib.import_module(module_name), module_name, name

    def _function(self, ref):
        if ref in self._functions:
            return self._functions[ref]
        module_name = str(ref).partition(":")[0]
        top = module_name.split(".")[0]
        if module_name == "builtins":
            name = str(ref).partition(":")[2]
            if name not in self.BUILTINS:
                raise ValueError(f"{ref!r} is not a function FxModule may call")
            import builtins

            fn = getattr(builtins, name)
        elif module_name in self.FUNCTION_MODULES or top in self.WRAPPED_PACKAGES:
            module, module_name, name = self._import(ref)
            if "." in name or name in self.BLOCKED or name.startswith("set_"):
                raise ValueError(f"{ref!r} is not a function FxModule may call")
            fn = getattr(module, name, None)
            if module_name not in self.FUNCTION_MODULES and not self._fx_wrapped(module, name):
                raise ValueError(f"{ref!r} is not a function FxModule may call (not registered with torch.fx.wrap)")
            if fn is None or not callable(fn) or isinstance(fn, type):
                raise ValueError(f"{ref!r} is not a function")
        else:
            raise ValueError(
                f"{ref!r} is not a function FxModule may call: only torch, torch.nn.functional, operator and "
                "math functions, and torchvision/torchaudio functions registered with torch.fx.wrap"
            )
        self._functions[ref] = fn
        return fn

    @staticmethod
    def _fx_wrapped(module, name):
        try:
            from torch.fx._symbolic_trace import _wrapped_fns_to_patch
        except ImportError:
            return False
        return (id(vars(module)), name) in _wrapped_fns_to_patch

    def _make_module(self, ref, init):
        module_name = str(ref).partition(":")[0]
        if not (module_name == "torch.nn" or module_name.startswith("torch.nn.")):  # checked before importing
            raise ValueError(f"{ref!r}: FxModule owns torch.nn modules only")
        module, module_name, name = self._import(ref)
        cls = module
        for part in name.split("."):
            cls = getattr(cls, part)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise ValueError(f"{ref!r} is not a torch.nn module class")
        return cls(**{k: self._value(v, ()) for k, v in init.items()})

    def _check(self, expr):
        """Resolve every reference now, so a bad one fails when the node is built."""
        if isinstance(expr, list):
            for item in expr:
                self._check(item)
        elif isinstance(expr, dict):
            tags = [t for t in self.TAGS if t in expr]
            if len(tags) != 1:
                raise ValueError(f"cannot read expression {str(expr)[:80]}")
            if "call" in expr:
                self._function(expr["call"])
            elif "method" in expr:
                self._method_name(expr["method"])
            elif "module" in expr and expr["module"] not in self._modules:
                raise ValueError(f"no owned module {expr['module']!r}")
            elif "attr" in expr and expr["attr"] not in self.ATTRIBUTES:
                raise ValueError(f"attribute {expr['attr']!r} is not one FxModule reads")
            elif "dtype" in expr:
                self._constant(expr["dtype"], torch.dtype)
            elif "memory_format" in expr:
                self._constant(expr["memory_format"], torch.memory_format)
            for key in ("args", "kwargs", "of", "self", "tuple", "dict", "slice"):
                if key in expr:
                    self._check(list(expr[key].values()) if isinstance(expr[key], dict) else expr[key])

    def _method_name(self, name):
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or name in self.BLOCKED_METHODS:
            raise ValueError(f"method {name!r} is not one FxModule calls")
        return name

    @staticmethod
    def _constant(name, kind):
        value = getattr(torch, str(name), None)
        if not isinstance(value, kind):
            raise ValueError(f"{name!r} is not a torch {kind.__name__}")
        return value

    # ---- evaluation -----------------------------------------------------------------
    def forward(self, *inputs):
        return self._value(self.expr, inputs)

    def _value(self, e, inputs):
        if isinstance(e, list):
            return [self._value(v, inputs) for v in e]
        if not isinstance(e, dict):
            return e
        v = lambda x: self._value(x, inputs)  # noqa: E731
        if "input" in e:
            return inputs[e["input"]]
        if "tensor" in e:
            return getattr(self, e["tensor"])
        if "tuple" in e:
            return tuple(v(x) for x in e["tuple"])
        if "dict" in e:
            return {k: v(x) for k, x in e["dict"].items()}
        if "slice" in e:
            return slice(*(v(x) for x in e["slice"]))
        if "ellipsis" in e:
            return Ellipsis
        if "dtype" in e:
            return self._constant(e["dtype"], torch.dtype)
        if "memory_format" in e:
            return self._constant(e["memory_format"], torch.memory_format)
        if "float" in e:
            return float(e["float"])
        if "training" in e:
            return self.training
        if "attr" in e:
            if e["attr"] not in self.ATTRIBUTES:
                raise ValueError(f"attribute {e['attr']!r} is not one FxModule reads")
            return getattr(v(e["of"]), e["attr"])
        if "select" in e:
            out = v(e["of"])
            for i in e["select"]:
                out = out[i]
            return out
        args = [v(x) for x in e.get("args", [])]
        kwargs = {k: v(x) for k, x in e.get("kwargs", {}).items()}
        if "call" in e:
            return self._function(e["call"])(*args, **kwargs)
        if "method" in e:
            target = v(e["self"])
            if not isinstance(target, (torch.Tensor, torch.Size, tuple, list, int, float)):
                raise ValueError(f"method {e['method']!r} called on a {type(target).__name__}")
            return getattr(target, self._method_name(e["method"]))(*args, **kwargs)
        if "module" in e:
            return self._modules[e["module"]](*args, **kwargs)
        raise ValueError(f"cannot evaluate {e!r}")


# ---- the LayerSpec -------------------------------------------------------------------


def _load_json(params: dict, name: str, kind: type):
    try:
        value = json.loads(params[name])
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
    100M-weight Linear costs nothing there), on CPU when a module cannot be."""
    try:
        try:
            with torch.device("meta"):
                module = FxModule(p["expr"], p["modules"], p["tensors"])
        except ValueError:
            raise
        except Exception:
            module = FxModule(p["expr"], p["modules"], p["tensors"]).to("meta")
    except Exception as exc:
        raise ShapeError(f"FxModule cannot be built: {type(exc).__name__}: {exc}") from None
    dtypes = {"float32": torch.float32, "int64": torch.int64}
    batch = 2
    tensors = [torch.empty(info.full(batch), dtype=dtypes[info.dtype], device="meta") for info in inputs]
    try:
        with torch.no_grad():
            out = module(*tensors)
    except ValueError as exc:  # a reference FxModule refuses
        raise ShapeError(f"FxModule failed: {exc}") from None
    except Exception:  # an op without a meta kernel: run it for real on a small batch
        try:
            module = FxModule(p["expr"], p["modules"], p["tensors"])
            with torch.no_grad():
                out = module(*(torch.zeros(info.full(batch), dtype=dtypes[info.dtype]) for info in inputs))
        except Exception as exc:
            raise ShapeError(f"FxModule failed: {type(exc).__name__}: {exc}") from None
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
