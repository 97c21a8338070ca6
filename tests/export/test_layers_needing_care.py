"""Layers known to need care in ONNX: each exports and verifies, or pre-flight names it.

Recurrent layers (stacked, bidirectional), attention with a causal mask, torchaudio's
STFT-based transforms (no ONNX STFT before opset 17, and none in the TorchScript-based
exporter at all), and the pre-flight machinery itself (cache, deferral, diagnosis).
The heavy ones are covered once, in test_examples_export: the torchvision backbone by
transfer_resnet18 in every format, the spectrogram's switch to the dynamo exporter by
speech_mel_cnn's ONNX export.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from workbench.core.compile import plan_model
from workbench.export import ExportError, export
from workbench.export.model import build_model
from workbench.export.preflight import preflight

from tests.export.helpers import chain, example


def test_stacked_bidirectional_lstm_and_gru_export_and_verify(tmp_path):
    project = chain(
        [12, 8],
        [
            ("LSTM", {"hidden_size": 16, "num_layers": 2, "bidirectional": True}),
            ("GRU", {"hidden_size": 8, "bidirectional": True}),
            ("RNN", {"hidden_size": 6, "output": "last"}),
        ],
    )
    report = export(project, "onnx", tmp_path / "rnn.onnx")
    assert report.ok, report.text()
    assert report.exporter == "torchscript" and report.fallback is None
    assert report.outputs[0].shape == ["batch", 6]


def test_causal_attention_keeps_its_mask_in_onnx(tmp_path):
    project = chain(
        [10, 16],
        [
            ("MultiheadAttention", {"num_heads": 4, "causal": True}),
            (
                "TransformerEncoder",
                {"nhead": 4, "dim_feedforward": 32, "num_layers": 1, "dropout": 0.0, "causal": True},
            ),
        ],
    )
    report = export(project, "onnx", tmp_path / "attn.onnx")
    assert report.ok, report.text()
    session = ort.InferenceSession(report.path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((3, 10, 16)).astype(np.float32)
    changed = x.copy()
    changed[:, -1] += 5.0  # only the last step changes ...
    a, b = session.run(None, {"x": x})[0], session.run(None, {"x": changed})[0]
    np.testing.assert_allclose(a[:, :-1], b[:, :-1], atol=1e-5)  # ... so no earlier step may notice
    assert np.abs(a[:, -1] - b[:, -1]).max() > 1e-3


def test_mel_spectrogram_below_opset_17_is_a_named_preflight_error(tmp_path):
    project = example("speech_mel_cnn")
    with pytest.raises(ExportError) as caught:
        export(project, "onnx", tmp_path / "speech.onnx", opset=16)
    error = caught.value
    assert error.node_id == "mel"
    assert str(error).startswith("mel: MelSpectrogram cannot be exported to ONNX opset 16: ")
    assert (
        "TorchScript-based exporter (dynamo=False): Exporting the operator 'aten::stft' to ONNX opset version 16"
        in str(error)
    )
    assert "torch.export-based exporter (dynamo=True): " in str(error)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a staging folder


def test_preflight_answers_are_cached_per_distinct_layer():
    project = example("cifar_resnet_block")
    built = build_model(project)
    first = preflight(built.plan, built.node_types, 20, True)
    again = preflight(plan_model(project.graph), built.node_types, 20, True)
    assert first.capable == ("torchscript", "dynamo")
    assert first.distinct < first.nodes  # identical conv/bn/relu blocks are probed once
    assert again.probes == 0 and again.cached == again.distinct == first.distinct


def test_an_opset_only_dynamo_writes_defers_probes_and_reports_why(tmp_path):
    project = chain([4], [("Linear", {"out_features": 3})])
    report = export(project, "onnx", tmp_path / "m.onnx", opset=21)
    assert report.ok, report.text()
    assert report.opset == 21 and report.exporter == "dynamo"
    assert "supports opsets up to 20" in report.fallback
    assert report.preflight.startswith("per-layer probes skipped")


def test_a_layer_neither_exporter_handles_is_named_by_preflight(tmp_path):
    """A plugin layer computing eigenvalues: no ONNX op, in either exporter."""
    from workbench.core.catalog import Constructor, LayerSpec, default_catalog

    class Eigen(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.eigvals(x).real

    spec = LayerSpec(name="TestEigen", category="test", doc="eigenvalues", construct=lambda i, p: Constructor(Eigen))
    catalog = default_catalog()
    catalog.register(spec)
    try:
        project = chain([3, 3], [("Linear", {"out_features": 3}), ("TestEigen", {})])
        with pytest.raises(ExportError) as caught:
            export(project, "onnx", tmp_path / "e.onnx")
    finally:
        catalog.unregister("TestEigen")
    assert caught.value.node_id == "testeigen1"
    assert "linalg_eig" in str(caught.value)
