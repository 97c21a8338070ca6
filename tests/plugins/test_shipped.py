"""The two example plugins end to end: palette, shapes, compile, codegen, ONNX."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tests.plugins.helpers import fresh_catalog
from workbench.core.codegen import codegen
from workbench.core.compile import compile_graph
from workbench.core.graph import Graph
from workbench.core.shapes import infer_shapes
from workbench.core.summary import summarize
from workbench.core.tensors import TensorInfo
from workbench.paths import ROOT
from workbench.plugins import load_plugins


@pytest.fixture(scope="module")
def catalog():
    catalog = fresh_catalog()
    report = load_plugins(catalog, folders=[ROOT / "plugins"], entry_points=False)
    assert not report.failed, report.text()
    assert [p.probed for p in report.loaded] == [("SqueezeExcitation",), ("Swish",)]
    return catalog


def se_net(catalog, swish=None) -> Graph:
    g = Graph(catalog)
    chain = [
        ("x", "Input", {"shape": [3, 16, 16]}),
        ("conv", "Conv2d", {"out_channels": 32, "padding": 1}),
        ("se", "SqueezeExcitation", {"reduction": 8}),
        ("act", "Swish", swish or {"per_channel": True, "beta": 1.5}),
        ("gap", "GlobalAvgPool", {}),
        ("fc", "Linear", {"out_features": 10}),
        ("out", "Output", {}),
    ]
    for node_id, type_name, params in chain:
        g.add_node(node_id, type_name, params)
    for (a, *_), (b, *_) in zip(chain, chain[1:]):
        g.connect(a, b)
    return g


def test_both_appear_under_plugins(catalog):
    assert [s.name for s in catalog.categories()["Plugins"]] == ["SqueezeExcitation", "Swish"]
    assert all(s.doc and all(p.help for p in s.params) for s in catalog.categories()["Plugins"])


def test_shapes_flops_and_errors(catalog):
    g = se_net(catalog)
    result = infer_shapes(g)
    assert result.ok, result.diagnostics
    assert result.output("se") == result.output("act") == TensorInfo((32, 16, 16))
    rows = {r.id: r for r in summarize(g, result).nodes}
    assert rows["se"].params == 2 * 32 * 4 + 32 + 4 and rows["se"].flops == 2 * 2 * 32 * 4
    assert rows["act"].params == 32 and rows["act"].trainable == 32
    g.set_params("se", {"reduction": 0})
    (d,) = infer_shapes(g).for_node("se")
    assert d.field == "reduction" and "at least 1" in d.message
    flat = Graph(catalog)
    flat.add_node("x", "Input", {"shape": [8]})
    flat.add_node("se", "SqueezeExcitation", {})
    flat.add_node("out", "Output", {})
    flat.connect("x", "se")
    flat.connect("se", "out")
    (d,) = infer_shapes(flat).for_node("se")
    assert "expects [N, C, H, W] but gets [N, 8]" in d.message


def test_swish_beta_is_learned_or_fixed(catalog):
    g = se_net(catalog, {"learnable": False, "beta": 2.0})
    model = compile_graph(g)
    beta = model.act.beta
    assert beta.shape == (1,) and not beta.requires_grad and float(beta) == 2.0
    x = torch.randn(2, 32, 4, 4)
    assert torch.allclose(model.act(x), x * torch.sigmoid(2.0 * x))
    learnable = compile_graph(se_net(catalog)).act.beta
    assert learnable.requires_grad and learnable.shape == (32,)


def test_compile_codegen_and_onnx_agree(catalog, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    g = se_net(catalog)
    model = compile_graph(g, "se-net").eval()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
    source = codegen(g, "se-net")
    assert "workbench" not in source.replace("Model Workbench", "")
    assert "class SqueezeExcitation(nn.Module)" in source and "class ParametricSwish(nn.Module)" in source
    namespace: dict = {}
    exec(compile(source, "se_net.py", "exec"), namespace)  # the standalone file, on its own
    standalone = namespace["SeNet"]().eval()
    standalone.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.allclose(standalone(x), expected, atol=1e-6)
    path = tmp_path / "se.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"], output_names=["out"],
                          dynamic_axes={"x": {0: "batch"}, "out": {0: "batch"}})
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (3, 1, 5):
        x = torch.randn(batch, 3, 16, 16)
        with torch.no_grad():
            want = model(x).numpy()
        (got,) = session.run(None, {"x": x.numpy()})
        assert np.abs(got - want).max() <= 1e-4
