"""Layers of modern decoder-only language models: GPTBlock and the SwiGLU feed-forward.

GPTBlock reads like nanoGPT's Block: pre-norm causal self-attention, then a feed-forward
network, each added back to the residual stream. Attention runs through
F.scaled_dot_product_attention(is_causal=True), so the GPU uses its fused kernels.
Positions come from rotary embeddings inside the attention (`rope`, the default), or from a
PositionalEncoding(kind="learned") before the first block with `rope` off.

The classes are self-contained (only math, torch, nn and F): codegen copies their source,
and the helpers they name, into the standalone file. Training's activation checkpointing
finds the blocks as instances of `GPTBlock` here.

FLOPs per sample, with T steps, width d and feed-forward width f: the q/k/v projection
2·T·d·3d, the output projection 2·T·d², Q·Kᵀ and A·V 2·2·T²·d (the full T×T products, as
the math kernel and FlopCounterMode's SDPA formula count them, causal or not), and the
feed-forward 2·T·d·f per matrix (two for gelu, three for swiglu). Norms and the rotation
are element-wise: 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.layers.recurrent import require_sequence
from workbench.core.layers.sequence import _heads_divide
from workbench.core.params import BOOL, CHOICE, FLOAT, INT, Param
from workbench.core.tensors import ShapeError, require_float

__all__ = ["CausalSelfAttention", "GPTBlock", "MLP", "RotaryEmbedding", "SwiGLU", "feedforward_width"]


def feedforward_width(d_model, mlp="gelu"):
    """The default hidden width: 4·d for gelu; for swiglu 8·d/3 (rounded up to a multiple
    of 8), which gives its three matrices the parameters of gelu's two."""
    if mlp == "swiglu":
        return math.ceil(8 * d_model / 3 / 8) * 8
    return 4 * d_model


# ---------------------------------------------------------------------------------------
# Modules


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE): turns each pair of channels (i, i + D/2) of the
    queries or keys [N, H, T, D] by the angle position / base^(2i/D), so that q·k depends
    on how far apart two steps are. No weights; any sequence length."""

    def __init__(self, head_dim, base=10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary embedding needs an even head dim, got {head_dim}")
        self.head_dim = head_dim
        self.base = base

    def forward(self, x):
        half = self.head_dim // 2
        inv_freq = self.base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)
        angles = torch.outer(torch.arange(x.shape[-2], device=x.device, dtype=torch.float32), inv_freq)
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    def extra_repr(self):
        return f"head_dim={self.head_dim}, base={self.base}"


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention over [N, T, d] in which step t sees steps 0..t only."""

    def __init__(self, d_model, nhead, dropout=0.0, bias=True, rope=True):
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"nhead {nhead} must divide d_model {d_model}")
        self.nhead = nhead
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)
        self.rotary = RotaryEmbedding(d_model // nhead) if rope else nn.Identity()

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q = q.view(n, t, self.nhead, d // self.nhead).transpose(1, 2)  # [N, H, T, D]
        k = k.view(n, t, self.nhead, d // self.nhead).transpose(1, 2)
        v = v.view(n, t, self.nhead, d // self.nhead).transpose(1, 2)
        q, k = self.rotary(q), self.rotary(k)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        y = y.transpose(1, 2).reshape(n, t, d)
        return self.resid_dropout(self.proj(y))


class MLP(nn.Module):
    """Linear → GELU → Linear, as in GPT-2."""

    def __init__(self, d_model, hidden, bias=True):
        super().__init__()
        self.fc = nn.Linear(d_model, hidden, bias=bias)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(hidden, d_model, bias=bias)

    def forward(self, x):
        return self.proj(self.gelu(self.fc(x)))


class SwiGLU(nn.Module):
    """SiLU-gated feed-forward (Shazeer 2020, as in LLaMA): down(silu(gate(x)) · up(x))."""

    def __init__(self, in_features, hidden_features, bias=True):
        super().__init__()
        self.gate = nn.Linear(in_features, hidden_features, bias=bias)
        self.up = nn.Linear(in_features, hidden_features, bias=bias)
        self.down = nn.Linear(hidden_features, in_features, bias=bias)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class GPTBlock(nn.Module):
    """One decoder block over [N, T, d]: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(
        self,
        d_model,
        nhead=4,
        dim_feedforward=None,
        dropout=0.0,
        norm="layernorm",
        mlp="gelu",
        rope=True,
        bias=True,
    ):
        super().__init__()
        if norm not in ("layernorm", "rmsnorm"):
            raise ValueError(f"norm must be 'layernorm' or 'rmsnorm', got {norm!r}")
        if mlp not in ("gelu", "swiglu"):
            raise ValueError(f"mlp must be 'gelu' or 'swiglu', got {mlp!r}")
        hidden = dim_feedforward or feedforward_width(d_model, mlp)
        self.ln_1 = nn.RMSNorm(d_model, eps=1e-5) if norm == "rmsnorm" else nn.LayerNorm(d_model, bias=bias)
        self.attn = CausalSelfAttention(d_model, nhead, dropout=dropout, bias=bias, rope=rope)
        self.ln_2 = nn.RMSNorm(d_model, eps=1e-5) if norm == "rmsnorm" else nn.LayerNorm(d_model, bias=bias)
        self.mlp = SwiGLU(d_model, hidden, bias=bias) if mlp == "swiglu" else MLP(d_model, hidden, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.dropout(self.mlp(self.ln_2(x)))
        return x


# ---------------------------------------------------------------------------------------
# Specs


def _width(p, d):
    return p["dim_feedforward"] or feedforward_width(d, p["mlp"])


def _infer_block(inputs, p):
    (x,) = inputs
    require_sequence("GPTBlock", x, "d")
    d = x.shape[1]
    _heads_divide(d, p["nhead"], "nhead")
    head = d // p["nhead"]
    if p["rope"] and head % 2:
        raise ShapeError(
            f"rotary positions need an even head dim, but {d} / nhead {p['nhead']} = {head}: "
            "change nhead or the embed dim, or turn rope off"
        )
    return [x]


def _block_flops(inputs, outputs, p):
    t, d = inputs[0].shape
    matrices = 3 if p["mlp"] == "swiglu" else 2
    return 8 * t * d * d + 4 * t * t * d + matrices * 2 * t * d * _width(p, d)


def _construct_block(inputs, p):
    d = inputs[0].shape[-1]
    return Constructor(GPTBlock, {"d_model": d, **p, "dim_feedforward": _width(p, d)})


def _infer_swiglu(inputs, p):
    (x,) = inputs
    require_float("SwiGLU", x)
    if x.rank < 2:
        raise ShapeError(f"SwiGLU expects [N, ..., F] but gets {x}")
    return [x]


def _swiglu_flops(inputs, outputs, p):
    x = inputs[0]
    return 3 * 2 * math.prod(x.shape) * _hidden(p, x.shape[-1])


def _hidden(p, d):
    return p["hidden_features"] or feedforward_width(d, "swiglu")


GPT_BLOCK = LayerSpec(
    name="GPTBlock",
    category="sequence",
    doc="A GPT decoder block over [N, T, d]: pre-norm causal self-attention and a feed-forward network, with residuals.",
    params=(
        Param("nhead", INT, 4, "Attention heads; must divide the embed dim", min=1, max=1024),
        Param(
            "dim_feedforward",
            INT,
            None,
            "Hidden width of the feed-forward network (empty: 4·d for gelu, 8·d/3 rounded up to a multiple of 8 for swiglu)",
            min=1,
            max=1_000_000,
            optional=True,
        ),
        Param("dropout", FLOAT, 0.0, "Dropout on attention weights and after each sub-block while training", min=0.0, max=1.0),
        Param(
            "norm",
            CHOICE,
            "layernorm",
            "Normalisation before each sub-block: layernorm (GPT-2) or rmsnorm (LLaMA)",
            choices=("layernorm", "rmsnorm"),
        ),
        Param(
            "mlp",
            CHOICE,
            "gelu",
            "Feed-forward network: gelu (Linear-GELU-Linear, GPT-2) or swiglu (SiLU-gated, LLaMA)",
            choices=("gelu", "swiglu"),
        ),
        Param(
            "rope",
            BOOL,
            True,
            "Rotary position embeddings in the attention (off: put a learned PositionalEncoding before the first block)",
        ),
        Param("bias", BOOL, True, "Learn biases in the linear layers and LayerNorms"),
    ),
    construct=_construct_block,
    infer=_infer_block,
    flops=_block_flops,
)

SWIGLU = LayerSpec(
    name="SwiGLU",
    category="dense",
    doc="SiLU-gated feed-forward over the last dimension: down(silu(gate(x)) · up(x)); output width = input width.",
    params=(
        Param(
            "hidden_features",
            INT,
            None,
            "Width of the gated hidden layer (empty: 8·F/3 rounded up to a multiple of 8)",
            min=1,
            max=1_000_000,
            optional=True,
        ),
        Param("bias", BOOL, True, "Learn biases in the three linear layers"),
    ),
    construct=lambda inputs, p: Constructor(
        SwiGLU, {"in_features": inputs[0].shape[-1], "hidden_features": _hidden(p, inputs[0].shape[-1]), "bias": p["bias"]}
    ),
    infer=_infer_swiglu,
    flops=_swiglu_flops,
)

SPECS = (GPT_BLOCK, SWIGLU)
