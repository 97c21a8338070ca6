"""Decoder-only LM layers (GPTBlock, SwiGLU, RMSNorm, GLU): shapes and FLOPs against real
forwards, the block against a hand-written reference, causality, rotary positions, mixed
precision, messages, and the GPU's fused attention."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.core.layer_checks import assert_layer_matches, decomposed
from workbench.core.catalog import default_catalog
from workbench.core.layers.gpt import feedforward_width
from workbench.core.modules.gpt import GPTBlock, RotaryEmbedding, SwiGLU
from workbench.core.tensors import ShapeError, TensorInfo


def check(type_name, params, shape):
    with decomposed():
        return assert_layer_matches(type_name, params, [TensorInfo(tuple(shape))])


def infer(type_name, params, shape, dtype="float32"):
    spec = default_catalog().get(type_name)
    return spec.infer([TensorInfo(tuple(shape), dtype)], spec.resolve(params))


def build(type_name, params, shape):
    spec = default_catalog().get(type_name)
    return spec.build([TensorInfo(tuple(shape))], spec.resolve(params)).eval()


BLOCK_CASES = [
    {"nhead": 2, "dim_feedforward": 16},
    {"nhead": 4},
    {"nhead": 1, "rope": False, "bias": False},
    {"nhead": 2, "norm": "rmsnorm", "mlp": "swiglu"},
    {"nhead": 4, "mlp": "swiglu", "dim_feedforward": 20, "dropout": 0.2},
]


@pytest.mark.parametrize("params", BLOCK_CASES, ids=str)
@pytest.mark.parametrize("steps", [1, 5, 16])
def test_gpt_block_matches_forward(params, steps):
    assert check("GPTBlock", params, (steps, 8)) == [TensorInfo((steps, 8))]


def test_gpt_block_flops_by_hand():
    spec = default_catalog().get("GPTBlock")
    t, d = 128, 128
    x = TensorInfo((t, d))
    gelu = spec.resolve({})
    swiglu = spec.resolve({"mlp": "swiglu"})
    attention = 2 * t * d * 3 * d + 2 * t * d * d + 2 * 2 * t * t * d
    assert spec.flops([x], [x], gelu) == attention + 2 * 2 * t * d * 4 * d
    assert spec.flops([x], [x], swiglu) == attention + 3 * 2 * t * d * 344  # 8·128/3 = 341.3 -> 344


@pytest.mark.parametrize("params", [{}, {"hidden_features": 5, "bias": False}])
@pytest.mark.parametrize("shape", [(8,), (5, 8), (2, 3, 6)])
def test_swiglu_matches_forward(params, shape):
    assert check("SwiGLU", params, shape) == [TensorInfo(shape)]


@pytest.mark.parametrize("params", [{}, {"eps": 1e-3, "elementwise_affine": False}])
@pytest.mark.parametrize("shape", [(8,), (5, 7), (2, 3, 4)])
def test_rmsnorm_matches_forward(params, shape):
    check("RMSNorm", params, shape)
    module = build("RMSNorm", params, shape)
    assert isinstance(module, nn.RMSNorm) and module.normalized_shape == (shape[-1],)
    if params.get("elementwise_affine", True):
        nn.init.normal_(module.weight)
    x = torch.randn(3, *shape)
    eps = params.get("eps", 1e-6)
    want = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    if module.weight is not None:
        want = want * module.weight
    assert torch.allclose(module(x), want, atol=1e-5)


@pytest.mark.parametrize("dim, shape, out", [(-1, (6,), (3,)), (1, (4, 3), (2, 3)), (-1, (2, 3, 8), (2, 3, 4))])
def test_glu_matches_forward(dim, shape, out):
    assert check("GLU", {"dim": dim}, shape) == [TensorInfo(out)]
    x = torch.randn(2, *shape)
    a, b = x.chunk(2, dim=dim)
    assert torch.allclose(build("GLU", {"dim": dim}, shape)(x), a * torch.sigmoid(b))


def test_feedforward_defaults():
    assert build("GPTBlock", {}, (4, 128)).mlp.fc.out_features == 512
    swiglu = build("GPTBlock", {"mlp": "swiglu"}, (4, 128)).mlp
    assert swiglu.gate.out_features == feedforward_width(128, "swiglu") == 344
    assert build("SwiGLU", {}, (4, 96)).up.out_features == 256
    gelu_params = sum(p.numel() for p in build("GPTBlock", {"bias": False}, (4, 96)).mlp.parameters())
    swiglu_params = sum(p.numel() for p in build("GPTBlock", {"bias": False, "mlp": "swiglu"}, (4, 96)).mlp.parameters())
    assert gelu_params == swiglu_params  # 8·d/3 is the width that keeps the parameter count


def test_built_block_is_the_class_checkpointing_looks_for():
    block = build("GPTBlock", {"norm": "rmsnorm", "mlp": "swiglu"}, (4, 8))
    assert type(block) is GPTBlock and GPTBlock.__module__ == "workbench.core.modules.gpt"
    assert isinstance(block.ln_1, nn.RMSNorm) and isinstance(block.mlp, SwiGLU)
    assert isinstance(build("GPTBlock", {}, (4, 8)).ln_1, nn.LayerNorm)


# --- behaviour --------------------------------------------------------------------------


def _reference(block: GPTBlock, x: torch.Tensor) -> torch.Tensor:
    """nanoGPT's Block written out: explicit masked softmax attention, no SDPA."""
    attn = block.attn
    n, t, d = x.shape
    h = attn.nhead

    def heads(z):
        return z.view(n, t, h, d // h).transpose(1, 2)

    q, k, v = (heads(z) for z in attn.qkv(block.ln_1(x)).split(d, dim=2))
    if isinstance(attn.rotary, RotaryEmbedding):
        q, k = _rotate(q), _rotate(k)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)
    scores = scores.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, t, d)
    x = x + attn.proj(y)
    return x + block.mlp(block.ln_2(x))


def _rotate(z):
    """RoPE, one position and one channel pair at a time."""
    out = z.clone()
    half = z.shape[-1] // 2
    for pos in range(z.shape[-2]):
        for i in range(half):
            angle = pos / 10000 ** (i / half)
            a, b = z[..., pos, i], z[..., pos, i + half]
            out[..., pos, i] = a * math.cos(angle) - b * math.sin(angle)
            out[..., pos, i + half] = a * math.sin(angle) + b * math.cos(angle)
    return out


@pytest.mark.parametrize("params", BLOCK_CASES, ids=str)
def test_block_equals_hand_written_reference(params):
    torch.manual_seed(0)
    block = build("GPTBlock", params, (6, 8))
    x = torch.randn(2, 6, 8)
    with torch.no_grad():
        assert torch.allclose(block(x), _reference(block, x), atol=1e-5)


@pytest.mark.parametrize("rope", [True, False])
@pytest.mark.parametrize("mlp", ["gelu", "swiglu"])
def test_block_ignores_later_steps(rope, mlp):
    torch.manual_seed(0)
    block = build("GPTBlock", {"nhead": 2, "rope": rope, "mlp": mlp}, (7, 8))
    x = torch.randn(2, 7, 8)
    y = x.clone()
    y[:, 4:] = torch.randn(2, 3, 8)
    with torch.no_grad():
        a, b = block(x), block(y)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert not torch.allclose(a[:, 4:], b[:, 4:], atol=1e-3)


def test_rotary_scores_depend_on_distance_only():
    torch.manual_seed(0)
    rope = RotaryEmbedding(8)
    q, k = torch.randn(8), torch.randn(8)
    rq = rope(q.expand(1, 1, 12, 8))[0, 0]
    rk = rope(k.expand(1, 1, 12, 8))[0, 0]
    scores = rq @ rk.T  # [query position, key position]
    for shift in (1, 5):
        assert torch.allclose(scores[shift:, shift:], scores[:-shift, :-shift], atol=1e-5)
    assert torch.allclose(rq[0], q) and torch.allclose(rq.norm(dim=-1), q.norm().expand(12), atol=1e-5)
    assert not torch.allclose(scores[3, 1], scores[3, 2])


def test_rope_lets_a_block_tell_order_apart():
    """Attention alone is blind to order: the last step of (a, b, c) and (b, a, c) sees
    the same set of steps. Rotary positions make the two differ."""
    torch.manual_seed(0)
    a, b, c = torch.randn(3, 1, 8)
    x, swapped = torch.stack([a, b, c], dim=1), torch.stack([b, a, c], dim=1)
    with torch.no_grad():
        plain = build("GPTBlock", {"nhead": 2, "rope": False}, (3, 8))
        rotary = build("GPTBlock", {"nhead": 2}, (3, 8))
        assert torch.allclose(plain(x)[:, -1], plain(swapped)[:, -1], atol=1e-5)
        assert not torch.allclose(rotary(x)[:, -1], rotary(swapped)[:, -1], atol=1e-3)


def test_dropout_only_while_training():
    torch.manual_seed(0)
    block = build("GPTBlock", {"nhead": 2, "dropout": 0.5}, (5, 8))
    x = torch.randn(3, 5, 8)
    with torch.no_grad():
        assert torch.equal(block(x), block(x))
        block.train()
        assert not torch.allclose(block(x), block(x))


@pytest.mark.parametrize("params", [{}, {"norm": "rmsnorm", "mlp": "swiglu"}])
def test_block_runs_under_bfloat16_autocast(params):
    torch.manual_seed(0)
    block = build("GPTBlock", params, (6, 16))
    x = torch.randn(2, 6, 16)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        low = block(x)
    with torch.no_grad():
        assert (low.float() - block(x)).abs().max() < 0.1


def test_block_trains():
    torch.manual_seed(0)
    block = build("GPTBlock", {"nhead": 2, "mlp": "swiglu", "norm": "rmsnorm"}, (5, 8)).train()
    x, target = torch.randn(4, 5, 8), torch.randn(4, 5, 8)
    optimizer = torch.optim.Adam(block.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = F.mse_loss(block(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.grad is not None for p in block.parameters())


# --- messages ---------------------------------------------------------------------------


def _error(type_name, params, shape, dtype="float32"):
    with pytest.raises(ShapeError) as err:
        infer(type_name, params, shape, dtype)
    return str(err.value)


def test_messages():
    assert _error("GPTBlock", {"nhead": 3}, (4, 16)) == (
        "embed dim 16 is not divisible by nhead 3: use nhead 1, 2, 4, 8, 16 or change the embed dim"
    )
    assert _error("GPTBlock", {"nhead": 4}, (4, 12)) == (
        "rotary positions need an even head dim, but 12 / nhead 4 = 3: change nhead or the embed dim, or turn rope off"
    )
    assert infer("GPTBlock", {"nhead": 4, "rope": False}, (4, 12)) == [TensorInfo((4, 12))]
    assert _error("GPTBlock", {}, (64,)) == "GPTBlock expects [N, T, d] but gets [N, 64]: insert Reshape to [T, d] first"
    assert "insert an Embedding first" in _error("GPTBlock", {}, (16,), "int64")
    assert _error("GLU", {}, (4, 7)) == "GLU halves dim -1, which must be even, but it is 7 in [N, 4, 7]"
    assert _error("GLU", {"dim": 0}, (4, 6)).startswith("dim=0 is the batch dimension")
    assert "insert an Embedding first" in _error("RMSNorm", {}, (16,), "int64")
    assert "insert an Embedding first" in _error("SwiGLU", {}, (16,), "int64")


def test_specs_are_documented():
    for name in ("GPTBlock", "SwiGLU", "RMSNorm", "GLU"):
        spec = default_catalog().get(name)
        assert spec.doc and "\n" not in spec.doc and spec.infer and spec.flops
        assert all(p.help for p in spec.params)
        spec.resolve({})
    categories = {name: default_catalog().get(name).category for name in ("GPTBlock", "SwiGLU", "RMSNorm", "GLU")}
    assert categories == {"GPTBlock": "sequence", "SwiGLU": "dense", "RMSNorm": "norm", "GLU": "activation"}


# --- GPU --------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.parametrize("params", [{}, {"norm": "rmsnorm", "mlp": "swiglu"}])
def test_block_uses_fused_attention_on_gpu(params):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    block = build("GPTBlock", {"nhead": 4, **params}, (128, 128))
    x = torch.randn(4, 128, 128)
    with torch.no_grad():
        want = block(x)
        gpu = block.cuda()
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]), torch.autocast("cuda", dtype=torch.bfloat16):
            got = gpu(x.cuda())  # raises if the flash kernel cannot take it
        assert (got.float().cpu() - want).abs().max() < 0.1
        counter = FlopCounterMode(display=False)
        with counter, sdpa_kernel([SDPBackend.FLASH_ATTENTION]), torch.autocast("cuda", dtype=torch.bfloat16):
            gpu(x[:1].cuda())
    spec = default_catalog().get("GPTBlock")
    info = TensorInfo((128, 128))
    assert counter.get_total_flops() == spec.flops([info], [info], spec.resolve({"nhead": 4, **params}))
