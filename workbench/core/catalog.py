"""The layer registry: every node type, built-in or plugin, is a registered LayerSpec.

A LayerSpec describes one layer type completely enough for every consumer: the
inspector reads `params`, shape inference calls `infer`, the summary calls `flops`,
compile calls `build`, and codegen calls `constructor` to write the same module as
source. Built-in layers register through `register` exactly as plugins do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from workbench.core.params import Param, ParamError, resolve_params
from workbench.core.tensors import ShapeError, TensorInfo

__all__ = [
    "Catalog",
    "CatalogError",
    "Constructor",
    "LayerSpec",
    "Param",
    "ParamError",
    "ShapeError",
    "TensorInfo",
    "class_path",
    "default_catalog",
    "no_flops",
    "register",
]


class CatalogError(Exception):
    """A layer type was registered twice, or a type name is unknown."""


@dataclass(frozen=True)
class Constructor:
    """How to make a layer's module: a class plus keyword arguments.

    `build` instantiates it; codegen writes `qualname(**kwargs)` as source, so one
    description serves both and they cannot drift apart.
    """

    cls: Callable | str  # a class or factory, or a class's dotted path ("torch.nn.Conv2d"): the catalog loads without torch
    kwargs: dict[str, Any] = field(default_factory=dict)
    qualname: str | None = None  # how source code names cls, e.g. "nn.Conv2d"

    @property
    def module_class(self) -> Callable:
        """The class (or factory) itself; a dotted path is imported on first use."""
        return resolve_class(self.cls) if isinstance(self.cls, str) else self.cls

    @property
    def class_path(self) -> str:
        """The dotted path that names cls, whether it was given as a path or as the class."""
        return class_path(self.cls)

    def build(self):
        return self.module_class(**self.kwargs)


# Only code names these paths (never a file), but the allow-list keeps it that way.
_CLASS_ROOTS = ("torch.", "torchvision.", "torchaudio.", "workbench.")


def resolve_class(path: str) -> type:
    """Import the class named by a dotted path under torch, torchvision, torchaudio or workbench."""
    if not path.startswith(_CLASS_ROOTS):
        raise CatalogError(f"a layer class must live under {', '.join(r[:-1] for r in _CLASS_ROOTS)}: {path!r}")
    module_name, _, attr = path.rpartition(".")
    from workbench.lazy import load

    cls = getattr(load(module_name), attr)
    if not isinstance(cls, type):
        raise CatalogError(f"{path!r} is not a class")
    return cls


def class_path(cls: Callable | str) -> str:
    """`cls`'s dotted path as a layer spec writes it: torch.nn's classes as "torch.nn.<Name>"
    (not the torch.nn.modules.<file> they are defined in), anything else module.qualname."""
    if isinstance(cls, str):
        return cls
    module, name = getattr(cls, "__module__", None) or "", getattr(cls, "__qualname__", None) or repr(cls)
    if module.startswith("torch.nn.modules."):
        module = "torch.nn"
    return f"{module}.{name}"


def no_flops(inputs, outputs, params) -> int:
    """FLOPs of a layer with no matrix products or convolutions (element-wise, reshaping)."""
    return 0


InferFn = Callable[[Sequence[TensorInfo], dict], Sequence[TensorInfo]]
ConstructFn = Callable[[Sequence[TensorInfo], dict], Constructor]
FlopsFn = Callable[[Sequence[TensorInfo], Sequence[TensorInfo], dict], int]


@dataclass(frozen=True)
class LayerSpec:
    """A layer type.

    `infer(inputs, params)` maps per-sample input TensorInfos to output TensorInfos
    and raises ShapeError with a message a user can act on. When it is None the
    layer is run on meta tensors instead. `flops(inputs, outputs, params)` returns
    per-sample FLOPs (2 x multiply-accumulates of matmuls and convolutions, as
    torch.utils.flop_counter counts them); None means "n/a".
    """

    name: str
    category: str
    doc: str
    params: tuple[Param, ...] = ()
    construct: ConstructFn | None = None
    infer: InferFn | None = None
    flops: FlopsFn | None = None
    inputs: int = 1
    variadic: bool = False  # True: any number of inputs >= `inputs`
    outputs: int = 1
    input_names: tuple[str, ...] = ()
    check: Callable[[dict], None] | None = None  # cross-parameter validation
    # False when `infer` depends on more than its arguments (e.g. a weights file on
    # disk), so its results must not be memoised.
    pure: bool = True
    # (parameters, trainable parameters) without building the real module; for layers
    # whose construction is costly or touches files (pretrained backbones).
    count_params: Callable[[Sequence[TensorInfo], dict], tuple[int, int]] | None = None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def resolve(self, params: dict) -> dict:
        """Full parameter dict with defaults filled in; raises ParamError."""
        resolved = resolve_params(self.params, params)
        if self.check is not None:
            self.check(resolved)
        return resolved

    def accepts_input_port(self, port: int) -> bool:
        return port >= 0 and (self.variadic or port < self.inputs)

    def input_label(self, port: int) -> str:
        if port < len(self.input_names):
            return self.input_names[port]
        return f"input {port}"

    def constructor(self, inputs: Sequence[TensorInfo], params: dict) -> Constructor:
        if self.construct is None:
            raise CatalogError(f"{self.name} has no module to build")
        return self.construct(inputs, params)

    def build(self, inputs: Sequence[TensorInfo], params: dict):
        """The nn.Module for these per-sample input shapes and resolved params."""
        return self.constructor(inputs, params).build()


class Catalog:
    """An ordered, name-unique collection of LayerSpecs."""

    def __init__(self) -> None:
        self._specs: dict[str, LayerSpec] = {}

    def register(self, spec: LayerSpec) -> LayerSpec:
        if spec.name in self._specs:
            raise CatalogError(f"layer type {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        return spec

    def unregister(self, name: str) -> None:
        self._specs.pop(name, None)

    def get(self, name: str) -> LayerSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise CatalogError(f"unknown layer type {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        return list(self._specs)

    def categories(self) -> dict[str, list[LayerSpec]]:
        grouped: dict[str, list[LayerSpec]] = {}
        for spec in self._specs.values():
            grouped.setdefault(spec.category, []).append(spec)
        return grouped


_default: Catalog | None = None


def default_catalog() -> Catalog:
    """The process-wide catalog holding the built-in layers (and, later, plugins)."""
    global _default
    if _default is None:
        _default = Catalog()
        from workbench.core.layers import register_builtins

        register_builtins(_default)
    return _default


def register(spec: LayerSpec) -> LayerSpec:
    """Public API for plugins: add a layer type to the default catalog."""
    return default_catalog().register(spec)
