"""Plugin layers: discovery, loading, and the report of what loaded and what did not.

A plugin is a Python file or package that defines `register(catalog)` and calls
`catalog.register(spec)` in it for each LayerSpec — the same public API the built-in
layers use (`workbench.core.layers.register_builtins`). It may declare `EXAMPLES =
{"LayerName": [[C, H, W], ...]}` (per-sample input shapes, one per input port): the
loader then builds each such layer with its default params and runs it once on a small
random batch, so a layer whose build or forward raises is caught here rather than in
someone's training run.

Plugins are code, so they are loaded only from three places, in this order:

1. `plugins/` beside the app (`workbench.paths.ROOT / "plugins"`);
2. the user's plugin folder, `platformdirs.user_data_dir("model-workbench") / "plugins"`;
3. installed packages exposing the `workbench.layers` entry-point group (the entry point
   names a module with `register`, or the `register` function itself).

A plugin that fails to import, registers a name that is already taken, or whose probe
raises is skipped whole (none of its layers are added) and reported; the others still
load. Nothing is written anywhere. Loading again is cheap and adds nothing twice.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import sys
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from workbench.core.catalog import Catalog, CatalogError, LayerSpec, default_catalog

__all__ = [
    "ENTRY_POINT_GROUP",
    "LoadedPlugin",
    "PluginFailure",
    "PluginReport",
    "load_plugins",
    "plugin_folders",
]

ENTRY_POINT_GROUP = "workbench.layers"


@dataclass(frozen=True)
class LoadedPlugin:
    source: str  # a file or folder path, or "entry point NAME = VALUE"
    layers: tuple[str, ...]
    probed: tuple[str, ...] = ()  # layers that ran on their EXAMPLES


@dataclass(frozen=True)
class PluginFailure:
    source: str
    error: str


@dataclass
class PluginReport:
    loaded: list[LoadedPlugin] = field(default_factory=list)
    failed: list[PluginFailure] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)

    @property
    def layers(self) -> list[str]:
        return [name for plugin in self.loaded for name in plugin.layers]

    def text(self) -> str:
        lines = ["Plugin folders:"]
        lines += [f"  {folder}{'' if folder.is_dir() else ' (absent)'}" for folder in self.folders]
        lines.append(f"  entry points: group {ENTRY_POINT_GROUP!r}")
        lines.append(f"Loaded ({len(self.loaded)}):" if self.loaded else "Loaded: none")
        for plugin in self.loaded:
            checked = f" (probed: {', '.join(plugin.probed)})" if plugin.probed else ""
            lines.append(f"  {plugin.source}: {', '.join(plugin.layers) or 'no layers'}{checked}")
        lines.append(f"Failed ({len(self.failed)}):" if self.failed else "Failed: none")
        lines += [f"  {failure.source}: {failure.error}" for failure in self.failed]
        return "\n".join(lines)


def plugin_folders() -> list[Path]:
    """The app's `plugins/` folder, then the user's; neither has to exist."""
    from platformdirs import user_data_dir

    from workbench.paths import ROOT

    return [ROOT / "plugins", Path(user_data_dir("model-workbench")) / "plugins"]


# catalog -> {source: LoadedPlugin} of what is already in it, so loading twice adds nothing
_LOADED: "weakref.WeakKeyDictionary[Catalog, dict[str, LoadedPlugin]]" = weakref.WeakKeyDictionary()


def load_plugins(
    catalog: Catalog | None = None,
    folders: Iterable[Path] | None = None,
    entry_points: bool = True,
) -> PluginReport:
    """Load every plugin into `catalog` (default: the process-wide one) and report."""
    from workbench.core.fx_module import ensure_registered

    catalog = catalog if catalog is not None else default_catalog()
    ensure_registered(catalog)  # imported models' FxModule layers, so imported projects open
    folders = list(plugin_folders() if folders is None else folders)
    report = PluginReport(folders=[Path(f) for f in folders])
    done = _LOADED.setdefault(catalog, {})
    for source, loader in _candidates(report.folders, entry_points):
        if source in done:
            report.loaded.append(done[source])
            continue
        try:
            register, examples = loader()
            plugin = _install(catalog, source, register, examples)
        except _PluginError as exc:
            report.failed.append(PluginFailure(source, str(exc)))
            continue
        done[source] = plugin
        report.loaded.append(plugin)
    return report


class _PluginError(Exception):
    pass


def _candidates(folders: list[Path], entry_points: bool):
    """(source, loader) pairs in load order; a loader returns (register, EXAMPLES)."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith(("_", ".")):
                continue
            if path.is_file() and path.suffix == ".py":
                yield str(path), (lambda p=path: _from_module(_exec_file(p, p)))
            elif path.is_dir() and (path / "__init__.py").is_file():
                yield str(path), (lambda p=path: _from_module(_exec_file(p / "__init__.py", p)))
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            yield f"entry point {ep.name} = {ep.value}", (lambda ep=ep: _from_entry_point(ep))


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"workbench_plugin_{stem}_{digest}"


def _exec_file(init: Path, path: Path):
    """Import a plugin file (or a package's __init__.py) as a fresh module."""
    name = _module_name(path)
    package = [str(path)] if path.is_dir() else None
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=package)
    if spec is None or spec.loader is None:
        raise _PluginError("cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # codegen's inspect.getsource finds plugin classes through it
    bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # write nothing into plugin folders, not even __pycache__
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything, even SystemExit
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _PluginError(_describe(exc)) from None
    finally:
        sys.dont_write_bytecode = bytecode
    return module


def _from_module(module) -> tuple[Callable, dict]:
    register = getattr(module, "register", None)
    if not callable(register):
        raise _PluginError("defines no register(catalog) function")
    return register, getattr(module, "EXAMPLES", {})


def _from_entry_point(ep) -> tuple[Callable, dict]:
    try:
        target = ep.load()
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _PluginError(_describe(exc)) from None
    if callable(target) and not isinstance(target, type):
        module = sys.modules.get(getattr(target, "__module__", ""), None)
        return target, getattr(module, "EXAMPLES", {})
    return _from_module(target)


def _describe(exc: BaseException) -> str:
    """'line 3: NameError: name 'nn' is not defined' — where in the plugin, and what."""
    if isinstance(exc, SyntaxError):
        return f"line {exc.lineno}: SyntaxError: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    plugin_frames = [f for f in frames if not f.filename.startswith("<") and "site-packages" not in f.filename
                     and Path(f.filename).resolve() != Path(__file__).resolve()]
    where = f"{Path(plugin_frames[-1].filename).name} line {plugin_frames[-1].lineno}: " if plugin_frames else ""
    return f"{where}{type(exc).__name__}: {exc}"


class _Staging(Catalog):
    """What a plugin's register() sees: the real catalog to read, a scratch one to write."""

    def __init__(self, base: Catalog) -> None:
        super().__init__()
        self._base = base

    def register(self, spec: LayerSpec) -> LayerSpec:
        if not isinstance(spec, LayerSpec):
            raise _PluginError(f"register() was given a {type(spec).__name__}, not a LayerSpec")
        if spec.name in self._base:
            raise _PluginError(f"layer type {spec.name!r} is already registered")
        return super().register(spec)

    def get(self, name: str) -> LayerSpec:
        return super().get(name) if name in self._specs else self._base.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs or name in self._base


def _install(catalog: Catalog, source: str, register: Callable, examples: Any) -> LoadedPlugin:
    staging = _Staging(catalog)
    try:
        register(staging)
    except _PluginError:
        raise
    except CatalogError as exc:  # the same name twice within one plugin
        raise _PluginError(str(exc)) from None
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _PluginError(f"register() failed: {_describe(exc)}") from None
    specs = list(staging)
    if not isinstance(examples, dict):
        raise _PluginError("EXAMPLES must be a dict {layer name: [input shape, ...]}")
    probed = []
    for spec in specs:
        if spec.name in examples:
            _probe(spec, examples[spec.name])
            probed.append(spec.name)
    for spec in specs:
        catalog.register(spec)
    return LoadedPlugin(source, tuple(s.name for s in specs), tuple(probed))


def _probe(spec: LayerSpec, shapes) -> None:
    """Build the layer with default params for EXAMPLES' input shapes and run it once;
    its shape inference must agree with what the module returns."""
    import torch

    from workbench.core.shapes import infer_node
    from workbench.core.tensors import TensorInfo

    try:
        inputs = tuple(TensorInfo(tuple(int(d) for d in shape)) for shape in shapes)
    except (TypeError, ValueError):
        raise _PluginError(f"{spec.name}: EXAMPLES must list input shapes such as [[16, 8, 8]]") from None
    outcome = infer_node(spec, {}, inputs)
    if outcome.message is not None:
        where = f"{outcome.field}: " if outcome.field else ""
        raise _PluginError(f"{spec.name}: shape inference fails on its example input: {where}{outcome.message}")
    try:
        module = spec.build(list(inputs), outcome.resolved)
        generator = torch.Generator().manual_seed(0)
        tensors = [torch.randn(info.full(2), generator=generator) for info in inputs]
        with torch.no_grad():
            out = module.eval()(*tensors)
    except Exception as exc:
        raise _PluginError(f"{spec.name}: build or forward raised on its example input: {_describe(exc)}") from None
    outs = out if isinstance(out, (tuple, list)) else (out,)
    got = [tuple(t.shape[1:]) for t in outs if isinstance(t, torch.Tensor)]
    want = [info.shape for info in outcome.outputs]
    if got != want:
        raise _PluginError(f"{spec.name}: shape inference says {want} but the module returns {got}")
