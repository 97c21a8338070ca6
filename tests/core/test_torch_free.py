"""Issue 14: editing, checking and summarising a model never import torch.

The catalog names each layer's module class by dotted path, shapes and FLOPs come from
formulas, and the quick commands load plugins (which import torch) only for a project
that needs them. Each check runs in a fresh interpreter and looks at sys.modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from torch import nn

from workbench.core.catalog import class_path, default_catalog, resolve_class
from workbench.core.module_names import NN_MODULE_ATTRIBUTES
from workbench.core.tensors import TensorInfo

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "resources" / "examples" / "digits_cnn.wbproj"

# Runs `workbench` commands one after another in this interpreter, and after each says
# whether torch has been imported so far.
RUNNER = """
import json, sys
from workbench.cli import main
seen = []
for argv in json.loads(sys.argv[1]):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    seen.append([argv[0], code, "torch" in sys.modules])
print("RESULT " + json.dumps(seen))
"""


def run_commands(*commands: list[str]) -> list[list]:
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(list(commands))],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, out.stderr[-2000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_summary_validate_runs_and_help_do_not_import_torch(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    seen = run_commands(
        ["--help"],
        ["summary", str(DIGITS)],
        ["summary", "--json", str(DIGITS)],
        ["validate", str(DIGITS)],
        ["runs", str(runs)],
    )
    assert [code for _, code, _ in seen] == [0, 0, 0, 0, 0]
    assert [name for name, _, torch in seen if torch] == []


@pytest.mark.slow  # a fresh process importing torch and the plugins (tests/plugins covers it in-process)
def test_a_project_naming_a_plugin_layer_loads_the_plugins(tmp_path):
    """The shipped Swish plugin imports torch; validate finds it only because it is asked for."""
    project = json.loads(DIGITS.read_text())
    nodes = project["graph"]["nodes"]
    relu = next(n for n in nodes if n["type"] == "ReLU")
    relu["type"] = "Swish"
    path = tmp_path / "swish.wbproj"
    path.write_text(json.dumps(project))
    [(name, code, torch)] = run_commands(["validate", str(path)])
    assert code == 0 and torch


def test_core_loads_infers_and_summarises_without_torch():
    code = f"""
import sys
from workbench.core.project import load_project, save_project
from workbench.core.shapes import infer_shapes
from workbench.core.summary import summarize
from workbench.core.catalog import default_catalog
project = load_project({str(DIGITS)!r})
result = infer_shapes(project.graph)
summary = summarize(project.graph, result)
assert not result.errors and len(default_catalog()) > 50
print("torch" in sys.modules, "numpy" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "False"]


# Each built-in layer's module class as it was when the specs held the class itself
# (commit 45a6acb): torch's classes by their public path, ours by class name.
BEFORE = {
    "AdaptiveAvgPool1d": "torch.nn.AdaptiveAvgPool1d", "AdaptiveAvgPool2d": "torch.nn.AdaptiveAvgPool2d",
    "Add": "Add", "AmplitudeToDB": "torchaudio.transforms.AmplitudeToDB", "AvgPool2d": "torch.nn.AvgPool2d",
    "BatchNorm1d": "torch.nn.BatchNorm1d", "BatchNorm2d": "torch.nn.BatchNorm2d", "Concat": "Concat",
    "Conv1d": "torch.nn.Conv1d", "Conv2d": "torch.nn.Conv2d", "ConvTranspose2d": "torch.nn.ConvTranspose2d",
    "Dropout": "torch.nn.Dropout", "Dropout2d": "torch.nn.Dropout2d", "ELU": "torch.nn.ELU",
    "Embedding": "torch.nn.Embedding", "Flatten": "torch.nn.Flatten", "GELU": "torch.nn.GELU", "GLU": "torch.nn.GLU",
    "GPTBlock": "GPTBlock", "GRU": "Recurrent", "GlobalAvgPool": "GlobalAvgPool", "GroupNorm": "torch.nn.GroupNorm",
    "Identity": "torch.nn.Identity", "LSTM": "Recurrent", "LayerNorm": "torch.nn.LayerNorm",
    "LeakyReLU": "torch.nn.LeakyReLU", "Linear": "torch.nn.Linear", "LogSoftmax": "torch.nn.LogSoftmax",
    "MFCC": "torchaudio.transforms.MFCC", "MaxPool1d": "torch.nn.MaxPool1d", "MaxPool2d": "torch.nn.MaxPool2d",
    "MelSpectrogram": "torchaudio.transforms.MelSpectrogram", "Mish": "torch.nn.Mish",
    "MultiheadAttention": "Attention",  # was SelfAttention; issue 15 added key/value inputs (same state dict)
    "Multiply": "Multiply", "Permute": "Permute",
    "PositionalEncoding": "PositionalEncoding", "RMSNorm": "torch.nn.RMSNorm", "RNN": "Recurrent",
    "ReLU": "torch.nn.ReLU", "Reshape": "Reshape", "SequencePool": "SequencePool", "SiLU": "torch.nn.SiLU",
    "Sigmoid": "torch.nn.Sigmoid", "Softmax": "torch.nn.Softmax", "Spectrogram": "torchaudio.transforms.Spectrogram",
    "SwiGLU": "SwiGLU", "Tanh": "torch.nn.Tanh", "TransformerDecoderLayer": "TransformerDecoderBlock",
    "TransformerEncoder": "TransformerEncoderStack", "TransformerEncoderLayer": "torch.nn.TransformerEncoderLayer",
    "Transpose": "Transpose", "efficientnet_b0": "Backbone", "mobilenet_v3_small": "Backbone",
    "resnet18": "Backbone", "resnet34": "Backbone", "resnet50": "Backbone",
}

# inputs to try, in order, until the layer accepts one with its default parameters
CANDIDATES = [((3, 32, 32), "float32"), ((4, 8, 8), "float32"), ((8, 16), "float32"), ((16,), "float32"),
              ((8,), "int64"), ((1, 4000), "float32"), ((4, 16, 8, 8), "float32"), ((2, 8, 16), "float32")]


def _constructor(spec):
    for shape, dtype in CANDIDATES:
        inputs = [TensorInfo(shape, dtype)] * max(spec.inputs, 1)
        try:
            params = spec.resolve({})
            if spec.infer is not None:
                spec.infer(list(inputs), params)
            return spec.constructor(list(inputs), params)
        except Exception:
            continue
    return None


def _public(cls) -> str:
    module = cls.__module__
    if module.startswith("torch.nn."):
        return f"torch.nn.{cls.__name__}"
    if module.startswith("torchaudio.transforms"):
        return f"torchaudio.transforms.{cls.__name__}"
    return cls.__name__


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_a_builtin_layer_builds_the_class_it_built_before(name):
    ctor = _constructor(default_catalog().get(name))
    assert ctor is not None, f"{name} accepts none of the sample inputs"
    assert isinstance(ctor.cls, str), f"{name} holds its class, so the catalog imports its module"
    cls = resolve_class(ctor.cls)
    assert _public(cls) == BEFORE[name]
    if ctor.cls.startswith(("torch.nn.", "workbench.")):  # the parameter-count formulas' keys
        assert class_path(cls) == ctor.cls  # found by either spelling, the path or the class
    if ctor.cls.startswith("torch.nn."):
        assert cls is getattr(nn, cls.__name__)


def test_every_builtin_layer_names_a_class_that_resolves():
    """New layers too: a dotted path, under the allow-listed roots, naming a class."""
    unresolved = []
    for spec in default_catalog():
        ctor = _constructor(spec) if spec.construct is not None and spec.name != "Block" else None
        if ctor is None:
            continue
        if not isinstance(ctor.cls, str):
            unresolved.append(f"{spec.name}: holds {ctor.cls!r}")
            continue
        try:
            resolve_class(ctor.cls)
        except Exception as exc:
            unresolved.append(f"{spec.name}: {exc}")
    assert unresolved == []


def test_the_listed_module_attributes_cover_this_torch():
    """Node ids are checked against a list (no torch import); it must hold every nn.Module name."""
    missing = sorted(set(dir(nn.Module())) - NN_MODULE_ATTRIBUTES)
    assert missing == [], f"add these to workbench/core/module_names.py: {missing}"
