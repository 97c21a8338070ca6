"""A small GPT with a tied head in every export format: ONNX from both exporters (SDPA
with is_causal, rotary positions, RMSNorm) checked against onnxruntime within 1e-4,
TorchScript, torch.export and the state dict (standalone source: tests/core/test_weight_tying.py)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from tests.core.test_weight_tying import T, VOCAB, gpt
from workbench.core.compile import compile_graph
from workbench.core.project import Project
from workbench.export import export
from workbench.export.onnx_exporters import DEFAULT_OPSET

GPT2_STYLE = {}
LLAMA_STYLE = {"norm": "rmsnorm", "mlp": "swiglu"}


def project(block) -> Project:
    return Project(name="tiny-gpt", graph=gpt(bias=True, **block))


def _onnx_agrees(path, block):
    """onnxruntime against the seeded PyTorch model at two batch sizes, and causal."""
    torch.manual_seed(0)  # export initialises from training.seed; compare with its weights
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model = _seeded_model(block)
    rng = np.random.default_rng(0)
    for batch in (1, 3):
        tokens = rng.integers(0, VOCAB, (batch, T), dtype=np.int64)
        (got,) = session.run(None, {"tokens": tokens})
        with torch.no_grad():
            want = model(torch.from_numpy(tokens)).numpy()
        assert got.shape == (batch, T, VOCAB)
        assert np.abs(got - want).max() <= 1e-4
    changed = tokens.copy()
    changed[:, -1] = (changed[:, -1] + 1) % VOCAB
    a, b = session.run(None, {"tokens": tokens})[0], session.run(None, {"tokens": changed})[0]
    np.testing.assert_allclose(a[:, :-1], b[:, :-1], atol=1e-5)  # no step sees a later one
    assert np.abs(a[:, -1] - b[:, -1]).max() > 1e-3


def _seeded_model(block):
    from workbench.export.model import build_model

    return build_model(project(block)).module


@pytest.mark.parametrize("block", [GPT2_STYLE, LLAMA_STYLE], ids=["gpt2", "llama"])
@pytest.mark.parametrize("opset", [17, DEFAULT_OPSET])
def test_torchscript_exporter(tmp_path, block, opset):
    report = export(project(block), "onnx", tmp_path / "gpt.onnx", opset=opset, onnx_exporter="torchscript")
    assert report.ok, report.text()
    assert report.exporter == "torchscript" and report.fallback is None and report.opset == opset
    assert report.max_abs_diff <= 1e-4
    _onnx_agrees(report.path, block)


@pytest.mark.slow  # the dynamo exporter takes ~40 s for this model on two busy cores
@pytest.mark.parametrize("block", [GPT2_STYLE, LLAMA_STYLE], ids=["gpt2", "llama"])
def test_dynamo_exporter(tmp_path, block):
    report = export(project(block), "onnx", tmp_path / "gpt.onnx", opset=DEFAULT_OPSET, onnx_exporter="dynamo")
    assert report.ok, report.text()
    assert report.exporter == "dynamo" and report.fallback is None
    assert report.max_abs_diff <= 1e-4
    _onnx_agrees(report.path, block)


@pytest.mark.parametrize("fmt, name", [("torchscript", "gpt.torchscript"), ("pt2", "gpt.pt2"), ("state_dict", "gpt.pt")])
def test_other_formats_verify(tmp_path, fmt, name):
    report = export(project(LLAMA_STYLE), fmt, tmp_path / name)
    assert report.ok, report.text()
    assert report.max_abs_diff is None or report.max_abs_diff <= 1e-4


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
def test_torchscript_keeps_the_tie(tmp_path):
    report = export(project(GPT2_STYLE), "torchscript", tmp_path / "gpt.torchscript")
    loaded = torch.jit.load(report.path)
    state = loaded.state_dict()
    assert torch.equal(state["head.weight"], state["embed.weight"])
    assert state["head.weight"].data_ptr() == state["embed.weight"].data_ptr()
    fresh = compile_graph(gpt(bias=True))
    fresh.load_state_dict(state)
    assert fresh.head.weight is fresh.embed.weight
