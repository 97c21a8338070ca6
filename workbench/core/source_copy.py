"""The source a helper layer needs in a standalone file: its class and what it names.

Codegen copies a custom layer's class into the generated file. A layer may be built from
smaller pieces of its own module (GPTBlock uses CausalSelfAttention, MLP, SwiGLU,
RotaryEmbedding and feedforward_width), so those are copied too, each before its first
user (a base class must exist when its subclass is defined). Only classes and functions
defined in the layer's own module, or imported into it from workbench, are followed;
torch, nn, F and math are imported by the file itself.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap

__all__ = ["helper_sources"]


def helper_sources(obj) -> dict[str, str]:
    """Name -> dedented source of `obj` and everything of its module it names, uses first."""
    out: dict[str, str] = {}
    _collect(obj, out, frozenset())
    return out


def _collect(obj, out: dict[str, str], visiting: frozenset) -> None:
    if obj.__name__ in out or obj.__name__ in visiting:
        return
    own = getattr(obj, "standalone_sources", None)  # a helper that names what it needs itself
    if own is not None:
        for name, text in own().items():
            out.setdefault(name, text)
        return
    source = textwrap.dedent(inspect.getsource(obj))
    module = sys.modules.get(obj.__module__)
    names = sorted({n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)})
    for name in names:
        dep = getattr(module, name, None)
        if (inspect.isclass(dep) or inspect.isfunction(dep)) and dep is not obj and _ours(dep, obj):
            _collect(dep, out, visiting | {obj.__name__})
    out[obj.__name__] = source


def _ours(dep, obj) -> bool:
    """Defined in the layer's module, or a workbench helper it imports (a torch-free formula
    such as feedforward_width, kept with the layer spec that also uses it)."""
    return dep.__module__ == obj.__module__ or dep.__module__.startswith("workbench.")
