"""Every parameter formula against the real module: the counts must match exactly."""

from __future__ import annotations

import pytest
import torch

from workbench.core.catalog import default_catalog
from workbench.core.param_counts import _FORMULAS, count_params
from workbench.core.tensors import TensorInfo

F, I = "float32", "int64"

# layer type -> (inputs, params) cases; each must resolve and infer
CASES = {
    "Linear": [((TensorInfo((7,)),), {"out_features": 5}), ((TensorInfo((3, 9)),), {"out_features": 4, "bias": False})],
    "Conv1d": [((TensorInfo((4, 20)),), {"out_channels": 6, "kernel_size": 3, "groups": 2})],
    "Conv2d": [
        ((TensorInfo((3, 16, 16)),), {"out_channels": 8, "kernel_size": [3, 5], "bias": False}),
        ((TensorInfo((4, 9, 9)),), {"out_channels": 8, "kernel_size": 3, "groups": 4}),
    ],
    "ConvTranspose2d": [((TensorInfo((4, 8, 8)),), {"out_channels": 6, "kernel_size": 2, "groups": 2})],
    "BatchNorm1d": [((TensorInfo((12,)),), {}), ((TensorInfo((12,)),), {"affine": False})],
    "BatchNorm2d": [((TensorInfo((5, 4, 4)),), {"track_running_stats": False})],
    "LayerNorm": [((TensorInfo((6, 10)),), {}), ((TensorInfo((6, 10)),), {"normalized_dims": 2, "bias": False})],
    "GroupNorm": [((TensorInfo((8, 4, 4)),), {"num_groups": 2}), ((TensorInfo((8, 4, 4)),), {"num_groups": 4, "affine": False})],
    "RNN": [((TensorInfo((5, 7)),), {"hidden_size": 6, "bias": False})],
    "LSTM": [((TensorInfo((5, 7)),), {"hidden_size": 6, "num_layers": 3, "bidirectional": True, "dropout": 0.1})],
    "GRU": [((TensorInfo((5, 7)),), {"hidden_size": 4, "num_layers": 2})],
    "Embedding": [((TensorInfo((9,), I),), {"num_embeddings": 50, "embedding_dim": 6})],
    "PositionalEncoding": [((TensorInfo((9, 6)),), {"kind": "learned", "max_len": 20}), ((TensorInfo((9, 6)),), {"max_len": 30})],
    "MultiheadAttention": [((TensorInfo((5, 8)),), {"num_heads": 2}), ((TensorInfo((5, 8)),), {"num_heads": 4, "bias": False})],
    "TransformerEncoderLayer": [((TensorInfo((5, 8)),), {"nhead": 2, "dim_feedforward": 12})],
    "TransformerEncoder": [((TensorInfo((5, 8)),), {"nhead": 2, "num_layers": 3, "dim_feedforward": 10, "bias": False})],
    "TransformerDecoderLayer": [((TensorInfo((5, 8)), TensorInfo((4, 8))), {"nhead": 2, "dim_feedforward": 12})],
}


def _real(spec, inputs, resolved):
    try:
        with torch.device("meta"):
            module = spec.build(list(inputs), resolved)
    except RuntimeError:  # torchaudio filterbanks are computed at construction
        module = spec.build(list(inputs), resolved)
    params = list(module.parameters())
    return (sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad),
            sum(b.numel() for b in module.buffers()))


@pytest.mark.parametrize("name,inputs,params", [(n, i, p) for n, cases in CASES.items() for i, p in cases])
def test_formula_matches_the_module(name, inputs, params):
    spec = default_catalog().get(name)
    resolved = spec.resolve(params)
    spec.infer(list(inputs), resolved)  # a case the layer accepts
    assert spec.constructor(list(inputs), resolved).class_path in _FORMULAS  # counted by formula, not by building
    counted = count_params(spec, resolved, inputs)
    assert (counted.params, counted.trainable, counted.buffers) == _real(spec, inputs, resolved)


def test_every_builtin_layer_is_counted_like_its_module():
    """Default parameters on a fitting input: formulas and stateless classes agree with torch."""
    trials = [(TensorInfo((3, 16, 16)),), (TensorInfo((16,)),), (TensorInfo((8, 16)),), (TensorInfo((1, 4000)),),
              (TensorInfo((8,), I),)]
    checked = 0
    for spec in default_catalog():
        if spec.construct is None or spec.count_params is not None:
            continue
        for trial in trials:
            inputs = trial * max(spec.inputs, 2 if spec.variadic else 1)
            resolved = spec.resolve({})
            try:
                spec.infer(list(inputs), resolved)
            except Exception:
                continue
            counted = count_params(spec, resolved, inputs)
            assert (counted.params, counted.trainable, counted.buffers) == _real(spec, inputs, resolved), spec.name
            checked += 1
            break
    assert checked >= 40


def test_huge_layers_are_counted_instantly_without_memory():
    spec = default_catalog().get("Embedding")
    resolved = spec.resolve({"num_embeddings": 100_000_000, "embedding_dim": 65536})
    assert count_params(spec, resolved, (TensorInfo((8,), I),)).params == 100_000_000 * 65536
