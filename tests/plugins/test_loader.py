"""Plugin discovery and loading: good plugins load, bad ones are reported and skipped."""

from __future__ import annotations

import importlib.metadata
import json
import sys
import textwrap

import pytest

from tests.plugins.helpers import fresh_catalog, layer_source, write
from workbench.plugins import ENTRY_POINT_GROUP, load_plugins, plugin_folders
from workbench.paths import ROOT

RAISES_ON_BUILD = '''
    from torch import nn

    from workbench.core.catalog import Constructor, LayerSpec


    class Broken(nn.Module):
        def __init__(self, channels):
            super().__init__()
            raise ValueError("channels must be even")


    EXAMPLES = {"BrokenLayer": [[3, 4, 4]]}


    def register(catalog):
        catalog.register(LayerSpec(name="BrokenLayer", category="Plugins", doc="never builds",
                                   construct=lambda i, p: Constructor(Broken, {"channels": i[0].shape[0]})))
'''


@pytest.fixture
def folder(tmp_path):
    plugins = tmp_path / "plugins"
    write(plugins, "good.py", layer_source("GoodLayer"))
    write(plugins, "broken.py", "def register(catalog)\n    pass\n")
    write(plugins, "duplicate.py", layer_source("Linear"))
    write(plugins, "raises.py", RAISES_ON_BUILD)
    write(plugins, "no_register.py", "X = 1\n")
    write(plugins, "import_error.py", "import no_such_module_for_workbench\n")
    write(plugins, "packaged/__init__.py", "from .layer import register\n")
    write(plugins, "packaged/layer.py", layer_source("PackagedLayer"))
    write(plugins, "_private.py", "raise RuntimeError('never imported')\n")
    write(plugins, "notes.txt", "not a plugin")
    return plugins


def by_file(report):
    return {f.source.rsplit("/", 1)[-1]: f.error for f in report.failed}


def test_good_plugins_load_and_bad_ones_are_reported_and_skipped(folder):
    catalog = fresh_catalog()
    before = len(catalog)
    report = load_plugins(catalog, folders=[folder], entry_points=False)
    assert [p.source for p in report.loaded] == [str(folder / "good.py"), str(folder / "packaged")]
    assert report.layers == ["GoodLayer", "PackagedLayer"]
    assert "GoodLayer" in catalog and "PackagedLayer" in catalog and "BrokenLayer" not in catalog
    assert catalog.get("GoodLayer").category == "Plugins"
    failed = by_file(report)
    assert set(failed) == {"broken.py", "duplicate.py", "raises.py", "no_register.py", "import_error.py"}
    assert failed["broken.py"].startswith("line 1: SyntaxError")
    assert failed["duplicate.py"] == "layer type 'Linear' is already registered"
    assert failed["raises.py"].startswith("BrokenLayer: ")
    assert "ValueError: channels must be even" in failed["raises.py"]
    assert failed["no_register.py"] == "defines no register(catalog) function"
    assert "ModuleNotFoundError" in failed["import_error.py"] and "import_error.py line 1" in failed["import_error.py"]
    assert len(catalog) == before + 2 + 1  # the two good layers, and FxModule for imported models
    text = report.text()
    assert "GoodLayer" in text and "broken.py: line 1: SyntaxError" in text


def test_loading_twice_adds_nothing_and_writes_nothing(folder):
    catalog = fresh_catalog()
    listing = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    first = load_plugins(catalog, folders=[folder], entry_points=False)
    size = len(catalog)
    second = load_plugins(catalog, folders=[folder], entry_points=False)
    assert len(catalog) == size
    assert second.loaded == first.loaded
    assert by_file(second) == by_file(first)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == listing  # no __pycache__, no state


def test_a_fixed_plugin_loads_on_the_next_attempt(tmp_path):
    catalog = fresh_catalog()
    plugin = write(tmp_path, "later.py", "def register(catalog) pass\n")
    assert by_file(load_plugins(catalog, folders=[tmp_path], entry_points=False))
    write(tmp_path, "later.py", layer_source("LaterLayer"))
    report = load_plugins(catalog, folders=[tmp_path], entry_points=False)
    assert report.layers == ["LaterLayer"] and not report.failed and plugin.exists()


def test_a_plugin_is_all_or_nothing(tmp_path):
    write(tmp_path, "half.py", textwrap.dedent(layer_source("FirstHalf")) + "\n\n" + '''
def register(catalog):
    catalog.register(SPEC)
    catalog.register(LayerSpec(name="Conv2d", category="Plugins", doc="taken"))
''')
    catalog = fresh_catalog()
    report = load_plugins(catalog, folders=[tmp_path], entry_points=False)
    assert "FirstHalf" not in catalog
    assert by_file(report) == {"half.py": "layer type 'Conv2d' is already registered"}


def test_folders_load_in_order_app_first_then_user(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app, user = plugin_folders()
    assert app == ROOT / "plugins"
    assert user == tmp_path / "data" / "model-workbench" / "plugins"
    write(user, "mine.py", layer_source("UserLayer"))
    write(user, "again.py", layer_source("Swish"))  # the app's plugin came first
    catalog = fresh_catalog()
    report = load_plugins(catalog, entry_points=False)
    assert report.layers == ["SqueezeExcitation", "Swish", "UserLayer"]
    assert by_file(report) == {"again.py": "layer type 'Swish' is already registered"}


def test_entry_points(tmp_path, monkeypatch):
    write(tmp_path, "wb_ep_module.py", layer_source("EntryModuleLayer"))
    write(tmp_path, "wb_ep_function.py", layer_source("EntryFunctionLayer", cls="Thrice"))
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [
        importlib.metadata.EntryPoint("by-module", "wb_ep_module", ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("by-function", "wb_ep_function:register", ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("missing", "wb_ep_not_installed:register", ENTRY_POINT_GROUP),
    ]
    seen = []

    def entry_points(**kwargs):
        seen.append(kwargs)
        return [ep for ep in points if ep.group == kwargs.get("group")]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    catalog = fresh_catalog()
    report = load_plugins(catalog, folders=[])
    assert seen == [{"group": "workbench.layers"}]
    assert report.layers == ["EntryModuleLayer", "EntryFunctionLayer"]
    assert [p.source for p in report.loaded] == [
        "entry point by-module = wb_ep_module",
        "entry point by-function = wb_ep_function:register",
    ]
    assert len(report.failed) == 1
    assert report.failed[0].source == "entry point missing = wb_ep_not_installed:register"
    assert "ModuleNotFoundError" in report.failed[0].error
    for name in ("wb_ep_module", "wb_ep_function"):
        sys.modules.pop(name, None)


def test_cli_plugins_lists_loaded_and_failed(tmp_path, monkeypatch, capsys):
    from workbench.cli import main

    user = tmp_path / "data" / "model-workbench" / "plugins"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    write(user, "oops.py", "raise RuntimeError('plugin exploded')\n")
    assert main(["plugins"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "squeeze_excitation.py: SqueezeExcitation" in out and "swish.py: Swish" in out
    assert f"{user / 'oops.py'}: oops.py line 1: RuntimeError: plugin exploded" in out


def test_cli_warns_about_a_broken_plugin_and_still_works(tmp_path, monkeypatch, capsys):
    from workbench.cli import main
    from workbench.paths import DEFAULT_EXAMPLE

    user = tmp_path / "data" / "model-workbench" / "plugins"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    write(user, "oops.py", "def oops(:\n")
    assert main(["validate", str(DEFAULT_EXAMPLE)]) == 0  # built-in layers only: plugins are not even loaded
    out, err = capsys.readouterr()
    assert "no errors" in out and err == ""
    doc = json.loads(DEFAULT_EXAMPLE.read_text())
    next(n for n in doc["graph"]["nodes"] if n["type"] == "ReLU")["type"] = "Oops"  # a type a plugin may provide
    project = tmp_path / "needs_a_plugin.wbproj"
    project.write_text(json.dumps(doc))
    assert main(["validate", str(project)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"warning: plugin {user / 'oops.py'} not loaded: line 1: SyntaxError")
    assert "missing layer type 'Oops'" in out + err and "Traceback" not in err


WRONG_FORMULA = '''
    from torch import nn

    from workbench.core.catalog import Constructor, LayerSpec


    class Halve(nn.Module):
        def forward(self, x):
            return x[:, : x.shape[1] // 2]


    class Explodes(nn.Module):
        def forward(self, x):
            raise RuntimeError("forward is broken")


    EXAMPLES = {"Halve": [[8]], "Explodes": [[8]]}
    SPECS = {
        "Halve": LayerSpec(name="Halve", category="Plugins", doc="claims to keep the shape",
                           construct=lambda i, p: Constructor(Halve), infer=lambda i, p: [i[0]]),
        "Explodes": LayerSpec(name="Explodes", category="Plugins", doc="has a formula but cannot run",
                              construct=lambda i, p: Constructor(Explodes), infer=lambda i, p: [i[0]]),
    }
'''


@pytest.mark.parametrize(
    "layer, message",
    [
        ("Halve", "Halve: shape inference says [(8,)] but the module returns [(4,)]"),
        ("Explodes", "Explodes: build or forward raised on its example input: plugin.py line"),
    ],
)
def test_the_probe_catches_a_wrong_formula_and_a_broken_forward(layer, message, tmp_path):
    write(tmp_path, "plugin.py", textwrap.dedent(WRONG_FORMULA) + f"\n\ndef register(catalog):\n    catalog.register(SPECS[{layer!r}])\n")
    catalog = fresh_catalog()
    report = load_plugins(catalog, folders=[tmp_path], entry_points=False)
    assert layer not in catalog
    (failure,) = report.failed
    assert failure.error.startswith(message), failure.error
