"""Recurrent and sequence layers: shapes and FLOPs against real forwards, behaviour
(causality, the "last" output), error messages, and self-contained module source."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from tests.core.layer_checks import assert_layer_matches, decomposed, random_input
from workbench.core.catalog import default_catalog
from workbench.core.modules.recurrent import Recurrent
from workbench.core.modules.sequence import (
    PositionalEncoding,
    SelfAttention,
    SequencePool,
    TransformerDecoderBlock,
    TransformerEncoderStack,
)
from workbench.core.params import ParamError
from workbench.core.tensors import ShapeError, TensorInfo

SMALL = {"dim_feedforward": 32, "dropout": 0.0}


def check(type_name, params, *shapes, dtype="float32", high=10):
    inputs = [TensorInfo(tuple(s), dtype) for s in shapes]
    with decomposed():
        return assert_layer_matches(type_name, params, inputs, high=high)


def infer(type_name, params, *inputs):
    spec = default_catalog().get(type_name)
    return spec.infer(list(inputs), spec.resolve(params))


def build(type_name, params, *inputs):
    spec = default_catalog().get(type_name)
    return spec.build(list(inputs), spec.resolve(params)).eval()


# --- recurrent -------------------------------------------------------------------------

RECURRENT_CASES = [
    ({}, (5, 7)),
    ({"hidden_size": 6, "output": "last"}, (1, 3)),
    ({"hidden_size": 6, "output": "last"}, (4, 9)),
    ({"hidden_size": 5, "bidirectional": True}, (1, 3)),
    ({"hidden_size": 5, "bidirectional": True, "output": "last"}, (5, 7)),
    ({"hidden_size": 4, "num_layers": 2, "dropout": 0.2}, (3, 2)),
    ({"hidden_size": 4, "num_layers": 2, "bidirectional": True, "output": "last", "bias": False}, (5, 7)),
    ({"hidden_size": 3, "num_layers": 3, "bidirectional": True}, (2, 4)),
]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("params, shape", RECURRENT_CASES)
def test_recurrent_matches_forward(kind, params, shape):
    check(kind, params, shape)


def test_rnn_relu():
    check("RNN", {"nonlinearity": "relu", "hidden_size": 4, "num_layers": 2, "output": "last"}, (4, 3))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_output_shapes(kind):
    x = TensorInfo((12, 9))
    assert infer(kind, {"hidden_size": 16}, x) == [TensorInfo((12, 16))]
    assert infer(kind, {"hidden_size": 16, "bidirectional": True}, x) == [TensorInfo((12, 32))]
    assert infer(kind, {"hidden_size": 16, "output": "last"}, x) == [TensorInfo((16,))]
    assert infer(kind, {"hidden_size": 16, "bidirectional": True, "output": "last"}, x) == [TensorInfo((32,))]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_is_final_hidden_state(kind, num_layers, bidirectional):
    torch.manual_seed(0)
    hidden = 5
    module = Recurrent(kind, 4, hidden, num_layers, bidirectional=bidirectional, output="last").eval()
    x = torch.randn(3, 6, 4)
    with torch.no_grad():
        last = module(x)
        out, state = module.rnn(x)
    h = state[0] if kind == "LSTM" else state
    if bidirectional:
        assert torch.allclose(last, torch.cat([h[-2], h[-1]], dim=1))
        # forward direction ends at the last step, backward direction at the first
        assert torch.allclose(last, torch.cat([out[:, -1, :hidden], out[:, 0, hidden:]], dim=1), atol=1e-6)
    else:
        assert torch.allclose(last, h[-1])
        assert torch.allclose(last, out[:, -1], atol=1e-6)


def test_recurrent_builds_requested_module():
    module = build("LSTM", {"hidden_size": 8, "num_layers": 2, "bidirectional": True, "dropout": 0.1}, TensorInfo((5, 3)))
    assert isinstance(module.rnn, nn.LSTM)
    rnn = module.rnn
    assert (rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.bidirectional, rnn.dropout) == (3, 8, 2, True, 0.1)
    assert rnn.batch_first
    assert build("RNN", {"nonlinearity": "relu"}, TensorInfo((5, 3))).rnn.nonlinearity == "relu"
    assert "nonlinearity" not in [p.name for p in default_catalog().get("GRU").params]


# --- sequence: shapes and FLOPs --------------------------------------------------------


@pytest.mark.parametrize(
    "params, shape",
    [
        ({"num_embeddings": 20, "embedding_dim": 6}, (7,)),
        ({"num_embeddings": 20, "embedding_dim": 3, "padding_idx": 0}, (1,)),
        ({"num_embeddings": 20, "embedding_dim": 5}, (4, 3)),
    ],
)
def test_embedding_matches_forward(params, shape):
    out = check("Embedding", params, shape, dtype="int64", high=params["num_embeddings"])
    assert out == [TensorInfo((*shape, params["embedding_dim"]), "float32")]


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
@pytest.mark.parametrize("shape", [(1, 4), (6, 7), (5, 1), (16, 16)])
def test_positional_encoding_matches_forward(kind, shape):
    check("PositionalEncoding", {"kind": kind, "max_len": 16}, shape)


@pytest.mark.parametrize("embed", [1, 6, 7])
def test_sinusoidal_table_values(embed):
    pe = PositionalEncoding(embed, max_len=10).pe
    assert pe.shape == (10, embed)
    pos = 3
    for i in range(embed):
        angle = pos / 10000 ** ((i - i % 2) / embed)
        want = math.sin(angle) if i % 2 == 0 else math.cos(angle)
        assert pe[pos, i].item() == pytest.approx(want, abs=1e-6)
    # a fixed table is not trained nor saved; a learned one is
    assert not list(PositionalEncoding(embed, max_len=10).parameters())
    assert list(PositionalEncoding(embed, kind="learned", max_len=10).parameters())[0].shape == (10, embed)


@pytest.mark.parametrize(
    "params, shape",
    [
        ({}, (5, 8)),
        ({"num_heads": 1}, (1, 3)),
        ({"num_heads": 2, "causal": True}, (6, 4)),
        ({"num_heads": 3, "bias": False}, (4, 9)),
        ({"num_heads": 5, "causal": True, "bias": False}, (2, 5)),
    ],
)
def test_attention_matches_forward(params, shape):
    check("MultiheadAttention", params, shape)


BLOCK_CASES = [
    ({"nhead": 2}, (1, 4)),
    ({"nhead": 2}, (5, 8)),
    ({"nhead": 1, "activation": "gelu", "norm_first": True}, (3, 6)),
    ({"nhead": 4, "bias": False, "layer_norm_eps": 1e-6}, (4, 8)),
    ({"nhead": 3, "activation": "gelu"}, (2, 9)),
]


@pytest.mark.parametrize("params, shape", BLOCK_CASES)
def test_encoder_layer_matches_forward(params, shape):
    check("TransformerEncoderLayer", {**SMALL, **params}, shape)


@pytest.mark.parametrize(
    "params, shape",
    [
        *BLOCK_CASES,
        ({"nhead": 2, "num_layers": 3, "causal": True}, (5, 8)),
        ({"nhead": 2, "num_layers": 1, "causal": True, "norm_first": True}, (1, 4)),
    ],
)
def test_encoder_matches_forward(params, shape):
    check("TransformerEncoder", {**SMALL, **params}, shape)


@pytest.mark.parametrize(
    "params, target, memory",
    [
        ({"nhead": 2}, (1, 4), (3, 4)),
        ({"nhead": 2}, (5, 8), (2, 8)),
        ({"nhead": 2, "causal": False}, (3, 4), (7, 4)),
        ({"nhead": 1, "activation": "gelu", "norm_first": True}, (4, 6), (4, 6)),
        ({"nhead": 4, "bias": False, "layer_norm_eps": 1e-6, "causal": False}, (2, 8), (1, 8)),
    ],
)
def test_decoder_layer_matches_forward(params, target, memory):
    check("TransformerDecoderLayer", {**SMALL, **params}, target, memory)


def test_decoder_layer_ports():
    spec = default_catalog().get("TransformerDecoderLayer")
    assert spec.inputs == 2 and not spec.variadic
    assert (spec.input_label(0), spec.input_label(1)) == ("target", "memory")


@pytest.mark.parametrize("mode", ["mean", "max", "last", "first"])
@pytest.mark.parametrize("shape", [(1, 3), (6, 5)])
def test_sequence_pool_matches_forward(mode, shape):
    assert check("SequencePool", {"mode": mode}, shape) == [TensorInfo((shape[1],))]


def test_sequence_pool_values():
    x = torch.randn(2, 5, 3)
    assert torch.equal(SequencePool("first")(x), x[:, 0])
    assert torch.equal(SequencePool("last")(x), x[:, 4])
    assert torch.allclose(SequencePool("mean")(x), x.mean(1))
    assert torch.equal(SequencePool("max")(x), x.max(1).values)


def test_flops_formulas_by_hand():
    """The formulas in numbers, for one documented case each."""
    t, s, e, ff = 5, 6, 8, 32
    spec = default_catalog().get("TransformerDecoderLayer")
    p = spec.resolve({"nhead": 2, "dim_feedforward": ff})
    x, mem = TensorInfo((t, e)), TensorInfo((s, e))
    assert spec.flops([x, mem], [x], p) == 12 * t * e * e + 4 * s * e * e + 4 * t * t * e + 4 * t * s * e + 4 * t * e * ff
    lstm = default_catalog().get("LSTM")
    p = lstm.resolve({"hidden_size": 7})
    assert lstm.flops([TensorInfo((3, 5))], [], p) == 3 * 2 * (5 + 7) * 4 * 7


# --- causality -------------------------------------------------------------------------


def _perturb_after(x, k):
    y = x.clone()
    y[:, k:] = torch.randn_like(y[:, k:])
    return y


@pytest.mark.parametrize(
    "make",
    [
        lambda causal: SelfAttention(8, 2, causal=causal),
        lambda causal: TransformerEncoderStack(8, 2, 2, 16, dropout=0.0, causal=causal),
        lambda causal: TransformerEncoderStack(8, 2, 1, 16, dropout=0.0, norm_first=True, causal=causal),
    ],
    ids=["MultiheadAttention", "TransformerEncoder", "TransformerEncoder-norm-first"],
)
def test_causal_self_attention_ignores_later_steps(make):
    torch.manual_seed(0)
    x = torch.randn(2, 7, 8)
    k = 4
    y = _perturb_after(x, k)
    before = torch.backends.mha.get_fastpath_enabled()
    for fast in (True, False):  # the fused fast path and the decomposed path
        torch.backends.mha.set_fastpath_enabled(fast)
        try:
            with torch.no_grad():
                causal = make(True).eval()
                a, b = causal(x), causal(y)
                assert torch.allclose(a[:, :k], b[:, :k], atol=1e-5)
                assert not torch.allclose(a[:, k:], b[:, k:], atol=1e-3)
                full = make(False).eval()
                assert not torch.allclose(full(x)[:, :k], full(y)[:, :k], atol=1e-3)
        finally:
            torch.backends.mha.set_fastpath_enabled(before)


def test_causal_decoder_ignores_later_target_steps():
    torch.manual_seed(0)
    target, memory = torch.randn(2, 6, 8), torch.randn(2, 3, 8)
    k = 3
    changed = _perturb_after(target, k)
    with torch.no_grad():
        causal = TransformerDecoderBlock(8, 2, 16, dropout=0.0).eval()
        assert torch.allclose(causal(target, memory)[:, :k], causal(changed, memory)[:, :k], atol=1e-5)
        full = TransformerDecoderBlock(8, 2, 16, dropout=0.0, causal=False).eval()
        assert not torch.allclose(full(target, memory)[:, :k], full(changed, memory)[:, :k], atol=1e-3)
        # every target step still sees all of the memory
        assert not torch.allclose(causal(target, memory)[:, 0], causal(target, _perturb_after(memory, 2))[:, 0], atol=1e-3)


# --- errors ----------------------------------------------------------------------------


def _shape_error(type_name, params, *inputs):
    with pytest.raises(ShapeError) as err:
        infer(type_name, params, *inputs)
    return str(err.value)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_errors(kind):
    assert _shape_error(kind, {}, TensorInfo((64,))) == f"{kind} expects [N, T, F] but gets [N, 64]: insert Reshape to [T, F] first"
    assert _shape_error(kind, {}, TensorInfo((16, 8, 8))) == (
        f"{kind} expects [N, T, F] but gets [N, 16, 8, 8]: insert Flatten (start_dim=2) then Transpose (1, 2) "
        "to turn [N, C, H, W] into [N, H·W, C]"
    )
    assert _shape_error(kind, {}, TensorInfo((12,), "int64")) == (
        f"{kind} needs float input but gets int64 token ids; insert an Embedding first"
    )
    with pytest.raises(ParamError) as err:
        default_catalog().get(kind).resolve({"dropout": 0.5})
    assert err.value.name == "dropout" and "num_layers" in err.value.reason
    default_catalog().get(kind).resolve({"dropout": 0.5, "num_layers": 2})


def test_embedding_errors():
    assert _shape_error("Embedding", {}, TensorInfo((12,))) == (
        "Embedding needs integer token ids (int64) but gets float32: set the Input dtype to int64"
    )
    spec = default_catalog().get("Embedding")
    with pytest.raises(ParamError) as err:
        spec.resolve({"num_embeddings": 100, "padding_idx": 100})
    assert err.value.name == "padding_idx"
    assert spec.resolve({"num_embeddings": 100, "padding_idx": 99})["padding_idx"] == 99
    assert spec.resolve({})["padding_idx"] is None


def test_positional_encoding_errors():
    assert _shape_error("PositionalEncoding", {}, TensorInfo((600, 32))) == (
        "sequence length 600 exceeds max_len 512: raise max_len to at least 600"
    )
    assert infer("PositionalEncoding", {}, TensorInfo((512, 32))) == [TensorInfo((512, 32))]
    assert _shape_error("PositionalEncoding", {}, TensorInfo((32,))).startswith(
        "PositionalEncoding expects [N, T, E] but gets [N, 32]"
    )
    assert "insert an Embedding first" in _shape_error("PositionalEncoding", {}, TensorInfo((32,), "int64"))


def test_attention_errors():
    assert _shape_error("MultiheadAttention", {"num_heads": 4}, TensorInfo((10, 30))) == (
        "embed dim 30 is not divisible by num_heads 4: use num_heads 1, 2, 3, 5, 6, 10, 15, 30 or change the embed dim"
    )
    assert _shape_error("MultiheadAttention", {}, TensorInfo((64,))) == (
        "MultiheadAttention expects [N, T, E] but gets [N, 64]: insert Reshape to [T, E] first"
    )


@pytest.mark.parametrize("name", ["TransformerEncoderLayer", "TransformerEncoder"])
def test_encoder_errors(name):
    assert _shape_error(name, {"nhead": 4}, TensorInfo((10, 30))).startswith("embed dim 30 is not divisible by nhead 4")
    assert _shape_error(name, {}, TensorInfo((10,), "int64")) == (
        f"{name} needs float input but gets int64 token ids; insert an Embedding first"
    )


def test_decoder_errors():
    name = "TransformerDecoderLayer"
    assert _shape_error(name, {}, TensorInfo((5, 16)), TensorInfo((7, 32))) == (
        "TransformerDecoderLayer target and memory must have the same embed dim, but target [N, 5, 16] has 16 "
        "and memory [N, 7, 32] has 32: insert a Linear with out_features=16 on the memory"
    )
    assert _shape_error(name, {}, TensorInfo((5, 16)), TensorInfo((16,))) == (
        "TransformerDecoderLayer memory expects [N, S, E] but gets [N, 16]: insert Reshape to [S, E] first"
    )
    assert _shape_error(name, {"nhead": 3}, TensorInfo((5, 16)), TensorInfo((7, 16))).startswith(
        "embed dim 16 is not divisible by nhead 3"
    )


def test_sequence_pool_errors():
    assert _shape_error("SequencePool", {}, TensorInfo((64,))) == (
        "SequencePool expects [N, T, F] but gets [N, 64]: insert Reshape to [T, F] first"
    )


# --- specs and self-contained modules ---------------------------------------------------

FAMILIES = ("recurrent", "sequence")


def test_specs_are_documented():
    specs = [s for s in default_catalog() if s.category in FAMILIES]
    assert [s.name for s in specs] == [
        "RNN", "LSTM", "GRU", "Embedding", "PositionalEncoding", "MultiheadAttention",
        "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "SequencePool",
        "PatchEmbedding", "ClassToken", "TransformerDecoder", "EmbeddingBag", "GPTBlock",
    ]  # fmt: skip
    for spec in specs:
        assert spec.doc and "\n" not in spec.doc, spec.name
        for p in spec.params:
            assert p.help, f"{spec.name}.{p.name}"
        spec.resolve({})  # the defaults are valid


CUSTOM = [
    (Recurrent, {"kind": "LSTM", "input_size": 4, "hidden_size": 5, "num_layers": 2, "bidirectional": True, "output": "last"}, [(3, 6, 4)]),
    (Recurrent, {"kind": "RNN", "input_size": 4, "hidden_size": 5, "nonlinearity": "relu"}, [(3, 6, 4)]),
    (PositionalEncoding, {"d_model": 7, "max_len": 10}, [(2, 6, 7)]),
    (PositionalEncoding, {"d_model": 6, "kind": "learned", "max_len": 10}, [(2, 6, 6)]),
    (SelfAttention, {"embed_dim": 8, "num_heads": 2, "causal": True}, [(2, 5, 8)]),
    (TransformerEncoderStack, {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "causal": True}, [(2, 5, 8)]),
    (TransformerDecoderBlock, {"d_model": 8, "nhead": 2, "dim_feedforward": 16}, [(2, 5, 8), (2, 3, 8)]),
    (SequencePool, {"mode": "max"}, [(2, 5, 8)]),
]


@pytest.mark.parametrize("cls, kwargs, shapes", CUSTOM, ids=[c[0].__name__ for c in CUSTOM])
def test_module_source_is_self_contained(cls, kwargs, shapes):
    namespace = {"math": math, "torch": torch, "nn": nn, "F": F, "__name__": "standalone"}
    exec(compile(inspect.getsource(cls), "<standalone>", "exec"), namespace)
    torch.manual_seed(0)
    original = cls(**kwargs).eval()
    copy = namespace[cls.__name__](**kwargs).eval()
    copy.load_state_dict(original.state_dict())
    xs = [torch.randn(s) for s in shapes]
    with torch.no_grad():
        assert torch.allclose(copy(*xs), original(*xs), atol=1e-6)


@pytest.mark.parametrize("cls, kwargs, shapes", CUSTOM, ids=[c[0].__name__ for c in CUSTOM])
def test_module_traces_with_fx(cls, kwargs, shapes):
    torch.manual_seed(0)
    module = cls(**kwargs).eval()

    class Leaf(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, cls) or super().is_leaf_module(m, qualname)

    class One(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = module

        def forward(self, x):
            return self.layer(x)

    class Two(One):
        def forward(self, x, y):
            return self.layer(x, y)

    host = One() if len(shapes) == 1 else Two()
    xs = [torch.randn(s) for s in shapes]
    leaf = torch.fx.GraphModule(host, Leaf().trace(host))
    inlined = torch.fx.symbolic_trace(module)  # forward has no data-dependent control flow
    with torch.no_grad():
        want = module(*xs)
        assert torch.allclose(leaf(*xs), want, atol=1e-6)
        assert torch.allclose(inlined(*xs), want, atol=1e-6)
        longer = [torch.randn(s[0], s[1] + 2, s[2]) for s in shapes]
        assert torch.allclose(inlined(*longer), module(*longer), atol=1e-6)


def test_constructor_builds_from_spec():
    x = TensorInfo((6, 8))
    assert isinstance(build("TransformerEncoderLayer", {"nhead": 2}, x), nn.TransformerEncoderLayer)
    layer = build("TransformerEncoderLayer", {"nhead": 2}, x)
    assert layer.self_attn.batch_first and layer.linear1.out_features == 2048
    enc = build("TransformerEncoder", {"nhead": 2, "num_layers": 3, "dim_feedforward": 16}, x)
    assert len(enc.encoder.layers) == 3 and not enc.encoder.enable_nested_tensor
    emb = build("Embedding", {"num_embeddings": 50, "embedding_dim": 4, "padding_idx": 0}, TensorInfo((6,), "int64"))
    assert emb.padding_idx == 0 and torch.equal(emb(torch.zeros(1, 2, dtype=torch.long)), torch.zeros(1, 2, 4))
    out = emb(random_input(TensorInfo((6,), "int64"), 2, high=50))
    assert out.shape == (2, 6, 4)
