"""Every layer of the default catalog against torch, from one table of sample inputs.

For each layer type: (a) inferred output shapes equal a real forward at two or more input
sizes (and batch sizes), (b) the FLOPs formula equals FlopCounterMode on the real module,
(c) the codegen source of a one-layer graph runs, loads the compiled model's state dict
and gives its outputs, (d) the ONNX export run by onnxruntime matches torch (max abs
diff < 1e-4): for every layer under `slow`, for one layer per category by default.
A layer registered without a row in CASES fails `test_every_layer_has_cases`.
"""

from __future__ import annotations

import types

import pytest
import torch

from tests.core.layer_checks import assert_layer_matches
from workbench.core.catalog import Catalog, default_catalog
from workbench.core.codegen import generate
from workbench.core.compile import compile_graph
from workbench.core.graph import Graph
from workbench.core.layers import register_builtins
from workbench.core.tensors import INT, TensorInfo

T = TensorInfo


def sizes(params, *shapes, **kw):
    """A case for a one-input layer: the same params over several per-sample input shapes."""
    return (params, [[T(s)] for s in shapes], kw)


def pairs(params, *shape_pairs, **kw):
    return (params, [[T(a), T(b)] for a, b in shape_pairs], kw)


IMG = ((3, 8, 8), (2, 11, 9))
SEQ = ((5, 8), (3, 8))
VOL = ((2, 6, 6, 6), (3, 5, 7, 4))

CASES: dict[str, list] = {
    # dense
    "Linear": [sizes({"out_features": 5}, (7,), (4, 7), (2, 3, 7))],
    "Identity": [sizes({}, (3,), (2, 5))],
    "Bilinear": [pairs({"out_features": 4}, ((5,), (3,)), ((2, 5), (2, 3)))],
    "SwiGLU": [sizes({}, (5, 16), (3, 16))],
    # conv
    "Conv1d": [sizes({"out_channels": 4, "kernel_size": 3, "padding": 1}, (2, 9), (3, 12))],
    "Conv2d": [sizes({"out_channels": 4, "stride": 2}, *IMG)],
    "ConvTranspose2d": [sizes({"out_channels": 4, "kernel_size": 2, "stride": 2}, *IMG)],
    "Conv3d": [sizes({"out_channels": 4, "kernel_size": 3, "padding": 1}, *VOL),
               sizes({"out_channels": 4, "kernel_size": [1, 3, 3], "stride": 2, "groups": 2}, (2, 5, 8, 8), (4, 3, 7, 9))],
    "ConvTranspose1d": [sizes({"out_channels": 4, "kernel_size": 3, "stride": 2, "output_padding": 1}, (2, 9), (3, 5))],
    "ConvTranspose3d": [sizes({"out_channels": 2, "kernel_size": 2, "stride": 2}, *VOL)],
    "DepthwiseSeparableConv2d": [sizes({"out_channels": 6}, *IMG), sizes({"out_channels": 5, "stride": 2, "bias": False}, *IMG)],
    # pool
    "MaxPool1d": [sizes({}, (2, 9), (3, 12))],
    "MaxPool2d": [sizes({}, *IMG)],
    "AvgPool2d": [sizes({}, *IMG)],
    "AdaptiveAvgPool1d": [sizes({"output_size": 3}, (2, 9), (3, 12))],
    "AdaptiveAvgPool2d": [sizes({"output_size": [2, 3]}, *IMG)],
    "GlobalAvgPool": [sizes({}, *IMG)],
    "MaxPool3d": [sizes({}, *VOL), sizes({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, *VOL)],
    "AvgPool1d": [sizes({"kernel_size": 3, "stride": 2, "padding": 1}, (2, 9), (3, 12))],
    "AvgPool3d": [sizes({}, *VOL)],
    "AdaptiveAvgPool3d": [sizes({"output_size": [1, 2, 3]}, *VOL)],
    # ONNX exports adaptive max pools only where the output size divides the input (the first size)
    "AdaptiveMaxPool1d": [sizes({"output_size": 4}, (2, 12), (3, 9))],
    "AdaptiveMaxPool2d": [sizes({"output_size": 3}, (3, 9, 6), (2, 11, 9))],
    "LPPool1d": [sizes({"kernel_size": 3}, (2, 9), (3, 12))],
    "LPPool2d": [sizes({"norm_type": 1.0, "kernel_size": 2, "stride": 1}, *IMG)],
    # norm
    "BatchNorm1d": [sizes({}, (6,), (3, 7))],
    "BatchNorm2d": [sizes({}, *IMG)],
    "LayerNorm": [sizes({}, (6,), (3, 7)), sizes({"normalized_dims": 2}, (3, 4, 5), (2, 6))],
    "GroupNorm": [sizes({"num_groups": 2}, (4, 8, 8), (6, 5))],
    "RMSNorm": [sizes({}, (6,), (3, 4, 7))],
    "BatchNorm3d": [sizes({}, *VOL)],
    "InstanceNorm1d": [sizes({}, (2, 9), (3, 12))],
    "InstanceNorm2d": [sizes({"affine": True}, *IMG)],
    "InstanceNorm3d": [sizes({}, *VOL)],
    "LocalResponseNorm": [sizes({"size": 3}, *IMG)],
    "ChannelLayerNorm": [sizes({}, *IMG)],
    # activation
    **{name: [sizes({}, (6,), (3, 4), (2, 3, 4))] for name in (
        "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "GLU",
        "ReLU6", "Hardswish", "Hardsigmoid", "SELU", "CELU", "Softsign", "Tanhshrink", "LogSigmoid", "Softmin",
        "Hardshrink", "Softshrink",
    )},
    "Hardtanh": [sizes({"min_val": -0.5, "max_val": 2.0}, (6,), (3, 4))],
    "PReLU": [sizes({}, (6,), (3, 4)), sizes({"per_channel": True}, *IMG)],
    "Softplus": [sizes({"beta": 2.0}, (6,), (3, 4))],
    "Threshold": [sizes({"threshold": 0.1, "value": -1.0}, (6,), (3, 4))],
    "Softmax2d": [sizes({}, *IMG)],
    # regularisation
    "Dropout": [sizes({}, (6,), (3, 4))],
    "Dropout2d": [sizes({}, *IMG)],
    "Dropout1d": [sizes({}, (2, 9), (3, 12))],
    "Dropout3d": [sizes({}, *VOL)],
    "AlphaDropout": [sizes({}, (6,), (3, 4))],
    "StochasticDepth": [sizes({"p": 0.2}, (6,), *IMG)],
    # resample
    "Upsample": [sizes({}, *IMG), sizes({"scale_factor": 1.5, "mode": "bilinear", "align_corners": True}, *IMG),
                 sizes({"size": [5, 7], "mode": "bicubic"}, *IMG), sizes({"size": 7, "mode": "linear"}, (2, 9), (3, 4)),
                 sizes({"mode": "trilinear"}, *VOL)],
    "PixelShuffle": [sizes({}, (8, 3, 4), (4, 5, 5))],
    "PixelUnshuffle": [sizes({}, (3, 4, 6), (2, 8, 2))],
    # padding
    "ZeroPad1d": [sizes({"padding": [1, 2]}, (2, 9), (3, 4))],
    "ZeroPad2d": [sizes({"padding": 1}, *IMG), sizes({"padding": [1, 0, 2, 3]}, *IMG)],
    "ZeroPad3d": [sizes({"padding": 1}, *VOL)],
    "ConstantPad": [sizes({"padding": 2, "value": 0.5}, *IMG), sizes({"padding": [1, 2]}, (5, 8), (3, 4, 2))],
    "ReflectionPad": [sizes({"padding": 2}, *IMG), sizes({"padding": [1, 1, 2, 0, 1, 2]}, *VOL)],
    "ReplicationPad": [sizes({"padding": [2, 1]}, (2, 9), (3, 4)), sizes({"padding": 3}, *IMG)],
    # shape
    "Flatten": [sizes({}, (2, 3, 4), (5,))],
    "Reshape": [sizes({"shape": [-1]}, (2, 3, 4), (5,))],
    "Permute": [sizes({"dims": [0, 2, 1]}, (3, 5), (4, 2))],
    "Transpose": [sizes({}, (3, 5), (4, 2, 2))],
    "Unflatten": [sizes({"dim": -1, "unflattened_size": [2, -1]}, (12,), (3, 8))],
    "Squeeze": [sizes({"dim": 2}, (3, 1), (4, 1, 5)), sizes({"dim": [1, -1]}, (1, 3, 1), (1, 2, 1))],
    "Unsqueeze": [sizes({}, (3,), (2, 4)), sizes({"dim": -1}, (3,), (2, 4))],
    "Slice": [sizes({"dim": 1, "start": 1}, (5,), (3, 4)), sizes({"dim": -1, "start": -3, "end": None, "step": 2}, (5, 6), (7,))],
    "Select": [sizes({}, (5, 8), (3,)), sizes({"dim": -1, "index": -1}, (5, 8), (3, 4))],
    "Repeat": [sizes({"repeats": [2, 3]}, (2, 3), (1, 1))],
    "Expand": [sizes({"shape": [4, -1]}, (1, 3), (1, 5))],
    "Split": [sizes({"split_size": 3}, (8, 2), (3, 5)), sizes({"split_size": [1, 2], "dim": -1}, (4, 3), (3,))],
    "Chunk": [sizes({"chunks": 3}, (8, 2), (2, 5)), sizes({"chunks": 2, "dim": 2}, (2, 6), (3, 3, 5))],
    # merge
    "Add": [pairs({}, ((4,), (4,)), ((3, 4, 4), (3, 1, 1)))],
    "Multiply": [pairs({}, ((4,), (4,)), ((3, 4, 4), (3, 1, 1)))],
    "Concat": [pairs({}, ((4,), (3,)), ((2, 4, 4), (5, 4, 4)))],
    "Stack": [pairs({}, ((4,), (4,)), ((2, 3), (2, 3))), pairs({"dim": -1}, ((4,), (4,)), ((2, 3), (2, 3)))],
    # math
    "Mean": [sizes({"dim": [2, 3]}, *IMG), sizes({"dim": 1, "keepdim": True}, (5, 8), (3, 2))],
    "Sum": [sizes({}, (5, 8), (3,)), sizes({"dim": [1, 2], "keepdim": True}, *IMG)],
    "Max": [sizes({"dim": -2}, (5, 8), (3, 2))],
    "MatMul": [pairs({}, ((3, 4), (4, 5)), ((2, 3, 4), (1, 4, 6)))],
    "Scale": [sizes({"value": 0.125}, (6,), *IMG), sizes({"value": 2.0, "learnable": True}, (6,), (3, 4))],
    # similarity
    "CosineSimilarity": [pairs({}, ((6,), (6,)), ((4, 5), (4, 5)))],
    "PairwiseDistance": [pairs({}, ((6,), (6,)), ((4, 5), (4, 5))), pairs({"p": 1.0, "keepdim": True}, ((6,), (6,)), ((3, 2), (3, 2)))],
    # recurrent
    "RNN": [sizes({"hidden_size": 5}, (4, 3), (6, 3))],
    "LSTM": [sizes({"hidden_size": 5, "output": "last"}, (4, 3), (6, 3))],
    "GRU": [sizes({"hidden_size": 5, "bidirectional": True}, (4, 3), (6, 3))],
    # sequence
    "Embedding": [(({"num_embeddings": 20, "embedding_dim": 6}), [[T((5,), INT)], [T((2, 3), INT)]], {})],
    "PositionalEncoding": [sizes({"max_len": 16}, *SEQ)],
    "MultiheadAttention": [
        sizes({"num_heads": 2}, *SEQ),
        sizes({"num_heads": 2, "causal": True, "bias": False}, *SEQ),
        pairs({"num_heads": 4, "add_bias_kv": True, "add_zero_attn": True}, ((5, 8), (3, 8)), ((2, 8), (7, 8))),
        ({"num_heads": 2}, [[T((5, 8)), T((3, 6)), T((3, 4))], [T((2, 8)), T((7, 6)), T((7, 10))]], {}),
        ({"num_heads": 2}, [[T((5, 8)), T((3, 6)), T((3,), INT)], [T((2, 8)), T((4, 6)), T((4,), INT)]], {"high": 1}),
    ],
    "TransformerEncoderLayer": [sizes({"nhead": 2, "dim_feedforward": 16}, *SEQ)],
    "TransformerEncoder": [sizes({"nhead": 2, "dim_feedforward": 16, "causal": True}, *SEQ)],
    "TransformerDecoderLayer": [pairs({"nhead": 2, "dim_feedforward": 16}, ((5, 8), (3, 8)), ((2, 8), (6, 8)))],
    "SequencePool": [sizes({}, *SEQ)],
    "PatchEmbedding": [sizes({"embed_dim": 12, "patch_size": 4}, (3, 16, 16), (2, 8, 13))],
    "ClassToken": [sizes({}, *SEQ)],
    "TransformerDecoder": [pairs({"nhead": 2, "dim_feedforward": 16, "num_layers": 2}, ((5, 8), (3, 8)), ((2, 8), (6, 8)))],
    "EmbeddingBag": [(({"num_embeddings": 20, "embedding_dim": 6, "mode": "max"}), [[T((5,), INT)], [T((1,), INT)]], {})],
    "GPTBlock": [sizes({"nhead": 2}, (5, 16), (3, 16))],
    # audio
    "Spectrogram": [sizes({"n_fft": 64}, (1, 400), (1, 257))],
    "MelSpectrogram": [sizes({"n_fft": 64, "n_mels": 8}, (1, 400), (1, 257))],
    "MFCC": [sizes({"n_fft": 64, "n_mels": 8, "n_mfcc": 5}, (1, 400), (1, 257))],
    "AmplitudeToDB": [sizes({}, (1, 8, 10), (2, 5, 3))],
    # vision backbones: building them takes seconds, so these run under `slow` only
    **{name: [sizes({"weights": "none"}, (3, 32, 32), (3, 40, 48), slow=True)] for name in (
        "resnet18", "resnet34", "resnet50", "mobilenet_v3_small", "efficientnet_b0",
    )},
}

NOT_LAYERS = {"Input", "Output", "Block"}  # graph plumbing, tested in test_graph / test_blocks
# One layer per category for the default suite's ONNX check (the rest run under `slow`).
ONNX_DEFAULT = {
    "Linear", "DepthwiseSeparableConv2d", "LPPool2d", "ChannelLayerNorm", "Hardswish", "StochasticDepth",
    "Upsample", "ReflectionPad", "Split", "Stack", "MatMul", "CosineSimilarity", "GRU", "MultiheadAttention",
    "AmplitudeToDB",
}


def _rows(only_fast: bool):
    for name, cases in CASES.items():
        for i, (params, input_sets, kw) in enumerate(cases):
            marks = [pytest.mark.slow] if kw.get("slow") and only_fast else []
            yield pytest.param(name, params, input_sets, kw, id=f"{name}-{i}", marks=marks)


def builtin_names() -> set[str]:
    """The built-in layer types (the default catalog may also hold plugins and FxModule by now)."""
    catalog = Catalog()
    register_builtins(catalog)
    return {spec.name for spec in catalog} - NOT_LAYERS


def test_every_layer_has_cases():
    names = builtin_names()
    missing = sorted(names - set(CASES))
    assert not missing, f"add sample inputs for {missing} to CASES"
    assert not set(CASES) - names, "CASES names layers that no longer exist"


@pytest.mark.parametrize("name, params, input_sets, kw", list(_rows(True)))
def test_shapes_and_flops_match_torch(name, params, input_sets, kw):
    assert len(input_sets) >= 2
    torch.manual_seed(0)
    for inputs in input_sets:
        assert_layer_matches(name, params, inputs, high=kw.get("high", 10))


def one_layer_graph(name: str, params: dict, inputs: list[TensorInfo]) -> Graph:
    """Input nodes -> the layer -> one Output per output it makes."""
    spec = default_catalog().get(name)
    outputs = spec.infer(list(inputs), spec.resolve(params))
    g = Graph()
    for i, info in enumerate(inputs):
        g.add_node(f"x{i}", "Input", {"shape": list(info.shape), "dtype": info.dtype})
    g.add_node("layer", name, params)
    for i in range(len(inputs)):
        g.connect(f"x{i}", "layer", target_port=i)
    for i in range(len(outputs)):
        g.add_node(f"y{i}", "Output")
        g.connect("layer", f"y{i}", source_port=i)
    return g


def _tensors(inputs: list[TensorInfo], batch: int, high: int) -> list[torch.Tensor]:
    return [torch.randint(0, max(high, 1), x.full(batch)) if x.dtype == INT else torch.randn(x.full(batch)) for x in inputs]


def _as_tuple(out) -> tuple:
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name, params, input_sets, kw", list(_rows(True)))
def test_codegen_source_runs_and_loads_the_state_dict(name, params, input_sets, kw):
    inputs = input_sets[0]
    graph = one_layer_graph(name, params, inputs)
    torch.manual_seed(0)
    model = compile_graph(graph).eval()
    generated = generate(graph, "Probe")
    namespace = types.ModuleType("generated_probe")
    exec(compile(generated.source, "<generated>", "exec"), namespace.__dict__)
    standalone = getattr(namespace, generated.class_name)().eval()
    standalone.load_state_dict(model.state_dict(), strict=True)
    xs = _tensors(inputs, 2, kw.get("high", 10))
    with torch.no_grad():
        want, got = _as_tuple(model(*xs)), _as_tuple(standalone(*xs))
    assert len(want) == len(got)
    for w, g in zip(want, got):
        torch.testing.assert_close(g, w, equal_nan=True)


def _onnx_rows():
    for row in _rows(False):
        name = row.values[0]
        marks = [] if name in ONNX_DEFAULT and row.id.endswith("-0") else [pytest.mark.slow]
        yield pytest.param(*row.values, id=row.id, marks=marks)


@pytest.mark.parametrize("name, params, input_sets, kw", list(_onnx_rows()))
def test_onnx_export_matches_torch(name, params, input_sets, kw, tmp_path):
    """The app's own ONNX export (exporter fallback, onnx.checker, onnxruntime against torch)."""
    from workbench.core.project import Project
    from workbench.export import export

    graph = one_layer_graph(name, params, input_sets[0])
    report = export(Project(name="probe", graph=graph), "onnx", tmp_path / "layer.onnx")
    assert report.ok, report.text()
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4, report.text()


def test_docs_list_every_layer():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "layers.md").read_text(encoding="utf-8")
    assert not [n for n in sorted(builtin_names()) if f"| `{n}` |" not in text], "docs/layers.md misses layers"
