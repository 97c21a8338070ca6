"""Finding a model by its MODULE_PATH, tracing it with torch.fx, and example inputs.

`load_module("torchvision.models:resnet18")` builds the model (`path/to/file.py:Name` runs
that file: the user asked for it by name on the command line); `trace` records its
forward with torch.fx and makes in-place updates explicit, since a graph never mutates.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import operator
import re
import sys
from pathlib import Path

import torch
from torch import fx, nn

from workbench.core.tensors import FLOAT, INT

__all__ = ["ImportFailure", "example_inputs", "load_module", "parse_shape", "trace"]


class ImportFailure(Exception):
    """The model cannot be imported; the message says why (shown as one `error:` line)."""


def parse_shape(text: str) -> tuple[int, ...]:
    """'3,224,224' -> (3, 224, 224)."""
    parts = [part.strip() for part in re.split(r"[,x×]", text.strip())]
    if not all(part.isdigit() for part in parts):
        raise ImportFailure(f"input shape {text!r} must be whole numbers separated by commas, e.g. 3,224,224")
    shape = tuple(int(part) for part in parts)
    if min(shape) < 1:
        raise ImportFailure(f"input shape {text!r} must be whole numbers of at least 1, e.g. 3,224,224")
    return shape


def load_module(ref: str, seed: int = 0) -> nn.Module:
    """`package.module:factory` or `path/to/file.py:name` -> a freshly built nn.Module."""
    where, _, name = ref.rpartition(":")
    if not where or not name:
        raise ImportFailure(f"{ref!r}: give MODULE_PATH as package.module:factory or path/to/file.py:name")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise ImportFailure(f"{where}: no such file")
        module_name = "workbench_import_" + re.sub(r"\W", "_", path.stem)
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # so inspect and torch.fx can find its source
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise ImportFailure(f"{where}: {type(exc).__name__}: {exc}") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ImportFailure(f"cannot import {where}: {exc}") from None
    try:
        obj = operator.attrgetter(name)(module)
    except AttributeError:
        raise ImportFailure(f"{where} has no {name!r}") from None
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise ImportFailure(f"{ref} is neither an nn.Module class nor a function returning one")
    try:
        signature = inspect.signature(obj)
        required = [p.name for p in signature.parameters.values()
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        required = []
    if required:
        raise ImportFailure(f"{ref} needs arguments ({', '.join(required)}); import a zero-argument factory instead")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = obj()
        except Exception as exc:
            raise ImportFailure(f"{ref}() failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise ImportFailure(f"{ref}() returned a {type(model).__name__}, not an nn.Module")
    return model


def trace(model: nn.Module, ref: str) -> fx.GraphModule:
    try:
        gm = fx.symbolic_trace(model)
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ImportFailure(
            f"torch.fx cannot trace {ref} ({type(exc).__name__}: {message}); models whose Python control flow "
            "depends on tensor values cannot be imported — wrap that part in a function registered with torch.fx.wrap"
        ) from None
    _redirect_in_place(gm)
    return gm


_IN_PLACE_OPERATORS = frozenset({
    operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ifloordiv, operator.imod,
    operator.ipow, operator.imatmul, operator.iand, operator.ior, operator.ixor, operator.ilshift, operator.irshift,
})


def _mutates_input(n: fx.Node, gm: fx.GraphModule) -> bool:
    if n.op == "call_method":
        return n.target.endswith("_") and not n.target.startswith("_")
    if n.op == "call_function":
        return n.target in _IN_PLACE_OPERATORS or n.kwargs.get("inplace") is True
    if n.op == "call_module":
        return getattr(gm.get_submodule(n.target), "inplace", False) is True
    return False


def _redirect_in_place(gm: fx.GraphModule) -> None:
    """After `y = x.add_(1)` later readers of x see y: make that explicit, so the graph
    (which never mutates) computes what the original did."""
    order = {n: i for i, n in enumerate(gm.graph.nodes)}
    for n in list(gm.graph.nodes):
        if n.args and isinstance(n.args[0], fx.Node) and _mutates_input(n, gm):
            x = n.args[0]
            for user in list(x.users):
                if user is not n and order[user] > order[n]:
                    user.replace_input_with(x, n)
    gm.recompile()


def example_inputs(gm: fx.GraphModule, shapes, batch: int, seed: int) -> tuple[list, list[str]]:
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder" and not n.args]
    if len(placeholders) != len(shapes):
        names = ", ".join(p.name for p in placeholders)
        raise ImportFailure(
            f"the model takes {len(placeholders)} input(s) ({names}) but {len(shapes)} --input-shape was given"
        )
    generator = torch.Generator().manual_seed(seed)
    tensors, dtypes = [], []
    for p, shape in zip(placeholders, shapes):
        vocab = [gm.get_submodule(u.target).num_embeddings for u in p.users
                 if u.op == "call_module" and isinstance(gm.get_submodule(u.target), nn.Embedding)]
        if vocab:
            tensors.append(torch.randint(0, min(vocab), (batch, *shape), generator=generator))
            dtypes.append(INT)
        else:
            tensors.append(torch.randn((batch, *shape), generator=generator))
            dtypes.append(FLOAT)
    return tensors, dtypes
