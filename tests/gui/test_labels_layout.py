"""Node texts, without a window (the auto-layout: tests/core/test_layout.py)."""

from __future__ import annotations

from workbench.ui.canvas.labels import fmt_count, key_params, params_label
from workbench.ui.templates import describe


def test_key_params_are_short_and_telling():
    conv = {"out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1}
    assert key_params("Conv2d", conv, None) == "32 ch, 3×3, stride 2"
    assert key_params("Linear", {"out_features": 10}, None) == "10 features"
    assert key_params("Input", {"shape": [32], "dtype": "int64"}, None) == "[32] int64"
    assert key_params("Embedding", {"num_embeddings": 1000, "embedding_dim": 64}, None) == "1000 tokens → 64"
    assert key_params("ReLU", {}, {}) == ""


def test_counts():
    assert fmt_count(950) == "950" and fmt_count(9_216) == "9.22k" and fmt_count(11_689_512) == "11.7M"
    assert params_label(0) == "" and params_label(64) == "64 params"


def test_template_descriptions_are_derived_when_missing():
    doc = {"graph": {"nodes": [{"type": "Input", "params": {"shape": [3, 32, 32]}}, {"type": "Conv2d"},
                               {"type": "Conv2d"}, {"type": "Output"}]}, "data": {"source": "digits"}}
    assert describe(doc) == "[3, 32, 32] → 2 layers: Conv2d ×2 · data: digits"
    assert describe({**doc, "description": "Mine."}) == "Mine."
